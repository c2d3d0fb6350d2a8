"""`vwwdeploy validate` end to end against simulated boards, on the upstream model and real COCO images.

Done-when check of issue 4: the board (sim, TFLM reference kernels behind the protocol) and the host twin
agree bit for bit on every image; report.json has its documented shape."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from vwwdeploy.cli import main
from vwwdeploy.virtual_boards.sim import FaultConfig, start_sim_in_thread


@pytest.fixture(scope="module")
def sim(upstream_model):
    url, stop = start_sim_in_thread(upstream_model)
    yield url
    stop()


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip() and "XNNPACK" not in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_sim_validate_end_to_end_is_bit_exact(sim, upstream_model, coco_csv, tmp_path, capsys):
    rc = main(
        [
            "validate",
            "--port",
            sim,
            "--model",
            str(upstream_model),
            "--data",
            str(coco_csv),
            "--report",
            str(tmp_path / "report"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "100.00% bit-exact" in out
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["format"] == "vwwdeploy-validation-report" and report["format_version"] == 1
    assert report["data"]["count"] == 128 and report["data"]["per_class"] == [78, 50]
    for name in ("device", "twin", "litert", "float"):
        assert "accuracy" in report["paths"][name]
    dvt = report["device_vs_twin"]
    assert dvt["bit_exact_rate"] == 1.0 and dvt["max_abs_delta"] == 0 and dvt["count"] == 128
    assert report["paths"]["device"]["accuracy"] == report["paths"]["twin"]["accuracy"]
    assert report["paths"]["device"]["confusion_matrix"] == report["paths"]["twin"]["confusion_matrix"]
    # the upstream detector is a real one: well above chance on real COCO images
    assert report["paths"]["device"]["accuracy"] > 0.75
    # LiteRT refuses the upstream model as is; validate runs a repaired copy, or says why it could not
    lite = report["paths"]["litert"]
    assert lite["available"] or "refused" in lite["reason"]
    if lite["available"]:
        assert report["device_vs_litert"]["top1_agreement"] > 0.95
        assert report["cross_metrics"]["device_vs_litert"]["cosine"] > 0.99
    assert report["paths"]["float"] == {
        "available": False,
        "reason": "no --checkpoint given",
        "accuracy": None,
        "confusion_matrix": None,
        "predictions": None,
    }
    assert report["cross_metrics"]["device_vs_twin"]["rmse"] == 0.0
    (board,) = report["boards"]
    assert board["port"] == sim and board["board"] == "sim" and board["kernels"] == "host-runtime"
    assert board["sha256_matches"] and board["images"] == 128 and board["bit_exact_rate_vs_twin"] == 1.0
    assert board["model_sha256"] == report["model"]["sha256"]
    assert board["link"]["requests"] >= 128
    lat = report["latency_us"]
    assert 0 < lat["min_us"] <= lat["median_us"] <= lat["p90_us"] <= lat["max_us"]
    html = (tmp_path / "report" / "report.html").read_text()
    assert html.count("<svg") >= 3 and "<script" not in html
    rows = list(csv.DictReader(open(tmp_path / "report" / "results.csv")))
    assert len(rows) == 128 and all(r["device_scores"] == r["twin_scores"] for r in rows)


def test_two_sims_share_the_images(upstream_model, coco_csv, tmp_path, capsys):
    url_a, stop_a = start_sim_in_thread(upstream_model)
    try:
        url_b, stop_b = start_sim_in_thread(upstream_model, tcp=True)
        try:
            rc = main(
                [
                    "validate",
                    "--port",
                    url_a,
                    "--port",
                    url_b,
                    "--model",
                    str(upstream_model),
                    "--data",
                    str(coco_csv),
                    "--report",
                    str(tmp_path / "r"),
                    "--limit",
                    "32",
                ]
            )
        finally:
            stop_b()
    finally:
        stop_a()
    assert rc == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    rows = report["boards"]
    assert [r["port"] for r in rows] == [url_a, url_b]
    assert sum(r["images"] for r in rows) == 32 and all(r["images"] > 0 for r in rows)
    assert all(r["bit_exact_rate_vs_twin"] == 1.0 for r in rows)
    assert report["device_vs_twin"]["bit_exact_rate"] == 1.0
    boards_in_csv = {r["board"] for r in csv.DictReader(open(tmp_path / "r" / "results.csv"))}
    assert boards_in_csv == {url_a, url_b}


def test_sha_mismatch_is_refused_unless_forced(sim, upstream_model, coco_csv, tmp_path, capsys):
    other = tmp_path / "other.tflite"
    other.write_bytes(upstream_model.read_bytes() + b"\0" * 16)  # same graph, other sha256
    rc = main(
        ["validate", "--port", sim, "--model", str(other), "--data", str(coco_csv), "--report", str(tmp_path / "r")]
    )
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 2 and "runs model sha256" in line and "--force" in line
    assert not (tmp_path / "r").exists()
    rc = main(
        [
            "validate",
            "--port",
            sim,
            "--model",
            str(other),
            "--data",
            str(coco_csv),
            "--report",
            str(tmp_path / "r"),
            "--limit",
            "4",
            "--force",
        ]
    )
    assert rc == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["forced"] is True and report["boards"][0]["sha256_matches"] is False


def test_dataset_folder_through_the_board(sim, upstream_model, coco128, tmp_path, capsys):
    """A split from `vwwdeploy dataset build` (eval preprocessing) instead of a CSV: the same bit-exactness."""
    ann = coco128 / "annotations_coco_json" / "instances_train2017_coco128.json"
    assert (
        main(
            [
                "dataset",
                "build",
                "--annotations",
                str(ann),
                "--images",
                str(coco128 / "images"),
                "--out",
                str(tmp_path / "vww"),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    rc = main(
        [
            "validate",
            "--port",
            sim,
            "--model",
            str(upstream_model),
            "--data",
            str(tmp_path / "vww"),
            "--report",
            str(tmp_path / "r"),
            "--limit",
            "24",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["data"]["source"] == "dataset" and report["data"]["count"] == 24
    assert report["data"]["available"] == 128 and report["data"]["label_names"] == ["notperson", "person"]
    assert "eval" in report["data"]["preprocessing"]
    assert report["device_vs_twin"]["bit_exact_rate"] == 1.0


def test_faulty_link_still_bit_exact_and_counts_retries(upstream_model, coco_csv, tmp_path, capsys):
    # 2e-5 per byte for each of drop, flip and insert: a 9.2 kB INFER frame meets a fault about every other
    # time (at 1e-3 per byte none would ever get through whole).
    # and the board resets (state lost, boot INFO sent) at every 10th request it receives.
    url, stop = start_sim_in_thread(upstream_model, faults=FaultConfig.uniform(2e-5, reset_every=10, seed=7))
    try:
        rc = main(
            [
                "validate",
                "--port",
                url,
                "--model",
                str(upstream_model),
                "--data",
                str(coco_csv),
                "--report",
                str(tmp_path / "r"),
                "--limit",
                "24",
                "--timeout",
                "0.5",
            ]
        )
    finally:
        stop()
    assert rc == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["device_vs_twin"]["bit_exact_rate"] == 1.0 and report["device_vs_twin"]["count"] == 24
    link = report["boards"][0]["link"]
    assert link["retries"] > 0 and link["retries"] == report["link"]["retries"]
    assert link["resets"] >= 1


def test_report_dir_is_replaced_whole(sim, upstream_model, coco_csv, tmp_path):
    out = tmp_path / "r"
    assert (
        main(
            [
                "validate",
                "--port",
                sim,
                "--model",
                str(upstream_model),
                "--data",
                str(coco_csv),
                "--report",
                str(out),
                "--limit",
                "1",
            ]
        )
        == 0
    )
    (out / "stale.txt").write_text("old")
    assert (
        main(
            [
                "validate",
                "--port",
                sim,
                "--model",
                str(upstream_model),
                "--data",
                str(coco_csv),
                "--report",
                str(out),
                "--limit",
                "2",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "results.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    shutil.rmtree(out)


def test_cli_processes_sim_then_validate(upstream_model, coco_csv, tmp_path):
    """As a user runs it: `vwwdeploy sim` in one process (box-average pipeline), `vwwdeploy validate` in another."""
    import subprocess
    import sys

    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vwwdeploy",
            "sim",
            "--model",
            str(upstream_model),
            "--tcp",
            "127.0.0.1:0",
            "--pipeline",
            "boxavg",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = sim.stdout.readline().strip()
        assert url.startswith("socket://"), sim.stderr.read() if sim.poll() is not None else url
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "vwwdeploy",
                "validate",
                "--port",
                url,
                "--model",
                str(upstream_model),
                "--data",
                str(coco_csv),
                "--report",
                str(tmp_path / "r"),
                "--limit",
                "8",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    assert "100.00% bit-exact" in result.stdout and "Traceback" not in result.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert "box-averaging" in report["data"]["preprocessing"]  # CSV images follow the board's pipeline
    assert report["device_vs_twin"]["bit_exact_rate"] == 1.0
