"""The README's first command: the whole pipeline on the built-in default."""

import json
import subprocess
import sys

import pytest

from vwwdeploy.apps.quickstart_defaults import PRETRAINED_SHA256


def _quickstart(*args, timeout=900):
    return subprocess.run(
        [sys.executable, "-m", "vwwdeploy", "quickstart", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_quickstart_trains_exports_and_validates_on_the_simulated_board(tmp_path):
    out = tmp_path / "qs"
    result = _quickstart("--out", str(out), "--images", "80", "--steps", "40", "--batch-size", "16")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "SYNTHETIC" in result.stdout
    summary = json.loads((out / "quickstart.json").read_text())
    assert summary["synthetic"] is True
    stages = summary["stages"]
    assert stages["train"]["steps"] == 40
    assert set(stages["export"]["ops"]) == {"AVERAGE_POOL_2D", "CONV_2D", "DEPTHWISE_CONV_2D", "RESHAPE", "SOFTMAX"}
    assert stages["validate"]["count"] == stages["dataset"]["val"]["count"]
    assert stages["validate"]["device_vs_twin"]["bit_exact_rate"] == 1.0
    for name in (
        "model.tflite",
        "firmware-src/model_data.cc",
        "firmware-src/model_settings.h",
        "validation/report.json",
        "validation/report.html",
        "dataset/train/dataset.json",
    ):
        assert (out / name).is_file(), name
    assert json.loads((out / "dataset/train/dataset.json").read_text())["synthetic"] is True
    _reports_name_the_final_folder(out)


@pytest.mark.slow
def test_quickstart_pretrained_checks_the_pinned_sha256(tmp_path, upstream_model):
    out = tmp_path / "qs"
    result = _quickstart(
        "--out", str(out), "--images", "40", "--pretrained", "--pretrained-url", upstream_model.as_uri()
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "quickstart.json").read_text())
    assert summary["stages"]["model"]["sha256"] == PRETRAINED_SHA256
    assert "train" not in summary["stages"]
    assert summary["stages"]["validate"]["device_vs_twin"]["bit_exact_rate"] == 1.0
    _reports_name_the_final_folder(out)


def _reports_name_the_final_folder(out):
    # Built in a temporary folder renamed to `out` at the end: the reports must name `out`, not that folder.
    report = json.loads((out / "validation" / "report.json").read_text())
    assert report["model"]["path"] == str(out / "model.tflite")
    assert report["data"]["path"] == str(out / "dataset" / "val")
    html = (out / "validation" / "report.html").read_text()
    assert str(out / "model.tflite") in html
    for text in (json.dumps(report), html):
        assert ".partial" not in text and ".tmp" not in text


def test_quickstart_refuses_a_model_with_another_sha256(tmp_path):
    impostor = tmp_path / "impostor.tflite"
    impostor.write_bytes(b"\0" * 1000)
    out = tmp_path / "qs"
    result = _quickstart("--out", str(out), "--images", "20", "--pretrained", "--pretrained-url", impostor.as_uri())
    assert result.returncode == 2
    assert "sha256" in result.stderr and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert "error:" in lines[-1] and sum("error" in line for line in lines) == 1
    assert not out.exists(), "a failed quickstart must leave nothing behind"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--images", "5"], "--images"),
        (["--steps", "0"], "--steps"),
    ],
)
def test_quickstart_bad_arguments(tmp_path, args, message):
    result = _quickstart("--out", str(tmp_path / "qs"), *args, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_quickstart_refuses_a_foreign_output_folder(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = _quickstart("--out", str(tmp_path), timeout=120)
    assert result.returncode == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"
