"""`vwwdeploy mlperf` against the reference DUT (`vwwdeploy sim --mlperf`): both flows, and its failure cases
(slow board, lost `%`, e-[...] answers, reboots mid-run, a silent port) end in a result or one clear line."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
from mlperf_support import mlperf_model, write_set

from vwwdeploy.apps.mlperf.dataset import read_accuracy_set
from vwwdeploy.apps.mlperf.dut import DutFaults, quantize_input, start_dut_in_thread
from vwwdeploy.apps.mlperf.runner import Runner, RunSettings
from vwwdeploy.cli import main
from vwwdeploy.errors import DeviceError
from vwwdeploy.link.mlperf_dut import MlperfLink
from vwwdeploy.model.tflm_twin import TflmTwin


@pytest.fixture(scope="module")
def model():
    return mlperf_model()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlperf-set")
    write_set(folder, 8)
    return folder


def _accuracy(model, dataset, faults=None, tcp=False, retries=3, timeout=2.0):
    url, dut = start_dut_in_thread(model, tcp=tcp, faults=faults)
    try:
        with MlperfLink(url, timeout=timeout) as link:
            runner = Runner(link, RunSettings(timeout=timeout, retries=retries))
            ident = runner.identify()
            result = runner.accuracy(read_accuracy_set(dataset, 96 * 96 * 3), ident["model"])
            return ident, result, link.stats, runner, dut.counters
    finally:
        dut.stop()


def test_accuracy_on_the_reference_dut_equals_the_twin(model, dataset):
    ident, result, stats, runner, _ = _accuracy(model, dataset, tcp=True)
    assert ident["name"] == "vwwdeploy-sim" and ident["model"] == "vww01"
    assert result["count"] == 8 and result["class_counts"] == [4, 4]
    with TflmTwin(model) as twin:
        spec_in, spec_out = twin.inputs[0], twin.outputs[0]
        for row in result["files"]:
            raw = (dataset / row["file"]).read_bytes()
            q = twin.invoke(quantize_input(raw, spec_in.shape, spec_in.scale, spec_in.zero_point, "int8")).reshape(-1)
            expected = (q.astype(float) - spec_out.zero_point) * spec_out.scale
            assert row["scores"] == pytest.approx(np.round(expected, 3), abs=1e-9)
    labels = np.array([r["label"] for r in result["files"]])
    assert result["top1"] == np.mean([r["predicted"] == r["label"] for r in result["files"]])
    assert result["top1"] == np.mean(np.argmax([r["normalised"] for r in result["files"]], 1) == labels)
    assert stats.timeouts == stats.resets == stats.error_replies == 0 and runner.retried_steps == 0


@pytest.mark.parametrize(
    "faults, counter, stat",
    [
        (DutFaults(drop_terminator_every=1000), "dropped_terminators", "timeouts"),
        (DutFaults(error_every=1100), "injected_errors", "error_replies"),
        (DutFaults(reset_every=1200), "resets", "resets"),
    ],
    ids=["dropped-percent", "error-answer", "reset-mid-run"],
)
def test_faults_are_retried_and_results_unchanged(model, dataset, faults, counter, stat):
    _, clean, *_ = _accuracy(model, dataset)
    _, noisy, stats, runner, counters = _accuracy(model, dataset, faults=faults, timeout=0.5)
    assert counters[counter] >= 2 and getattr(stats, stat) >= 2 and runner.retried_steps >= 2
    assert [r["scores"] for r in noisy["files"]] == [r["scores"] for r in clean["files"]]
    assert noisy["top1"] == clean["top1"] and noisy["auc"] == clean["auc"]


def test_slow_board_calibrates_the_inference_timeout(model, dataset):
    """Each inference takes longer than the command timeout: the runner waits for it (first-line rule),
    learns the time per inference and never times out."""
    _, result, stats, runner, _ = _accuracy(model, dataset, faults=DutFaults(slow_s=0.6), timeout=0.4)
    assert result["count"] == 8 and stats.timeouts == 0 and runner.per_inference_s > 0.6


def test_a_board_that_always_errors_fails_with_one_line(model, dataset):
    start = time.monotonic()
    with pytest.raises(DeviceError) as err:
        _accuracy(model, dataset, faults=DutFaults(error_every=1), retries=2, timeout=0.5)
    assert "failed 3 times" in str(err.value) and "e-[injected fault" in str(err.value)
    assert "\n" not in str(err.value) and time.monotonic() - start < 30


def test_silent_port_times_out(tmp_path):
    master, slave = os.openpty()
    try:
        start = time.monotonic()
        with MlperfLink(os.ttyname(slave), timeout=0.3) as link, pytest.raises(DeviceError) as err:
            Runner(link, RunSettings(timeout=0.3, retries=1)).identify()
        assert "`name` failed 2 times" in str(err.value) and "no m-ready" in str(err.value)
        assert time.monotonic() - start < 10
    finally:
        os.close(master)
        os.close(slave)


def test_performance_refuses_a_short_run_and_counts_windows(model, dataset, capsys, tmp_path, monkeypatch):
    # A minimum no run here reaches, whatever the machine's load (the real one is 10 s: MLPerf Tiny's rule).
    monkeypatch.setattr("vwwdeploy.link.mlperf_protocol.MIN_PERF_SECONDS", 3600.0)
    url, dut = start_dut_in_thread(model)
    try:
        code = main(["mlperf", "--port", url, "--mode", "performance", "--data", str(dataset),
                     "--report", str(tmp_path / "r")])  # fmt: skip
    finally:
        dut.stop()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("vwwdeploy mlperf: error: not a valid MLPerf Tiny run: the run lasted")
    assert "under MLPerf Tiny's 3600 s minimum (raise --iterations)" in err[-1]
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    perf = report["performance"]
    assert report["valid"] is False and len(perf["windows"]) == 5
    assert [w["file"] for w in perf["windows"]] == [f"img{i:03d}.bin" for i in range(5)]
    for w in perf["windows"]:
        assert w["elapsed_us"] == w["end_us"] - w["start_us"] > 0
        assert w["throughput"] == pytest.approx(20 / (w["elapsed_us"] / 1e6))
    assert perf["median_throughput"] == pytest.approx(np.median([w["throughput"] for w in perf["windows"]]))
    assert dut.counters["inferences"] == 1 + 5 * 25  # calibration, then 5 x (5 warm-up + 20)


@pytest.mark.slow
def test_performance_run_over_ten_seconds_is_valid(model, dataset, capsys, tmp_path):
    url, dut = start_dut_in_thread(model, faults=DutFaults(slow_s=0.02))
    try:
        code = main(["mlperf", "--port", url, "--mode", "performance", "--data", str(dataset),
                     "--report", str(tmp_path / "r"), "--iterations", "80"])  # fmt: skip
    finally:
        dut.stop()
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert code == 0 and report["valid"] and report["errors"] == [] and report["performance"]["duration_s"] >= 10
    lat = report["performance"]["latency_ms"]
    assert lat > 20 and f"latency {lat:.2f} ms" in out  # at least the injected 20 ms per inference
    assert (tmp_path / "r" / "report.html").read_text().count("<tr>") >= 6


def test_accuracy_cli_report_shape(model, dataset, capsys, tmp_path):
    url, dut = start_dut_in_thread(model, tcp=True)
    try:
        code = main(["mlperf", "--port", url, "--mode", "accuracy", "--data", str(dataset),
                     "--report", str(tmp_path / "r"), "--limit", "6"])  # fmt: skip
    finally:
        dut.stop()
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert code == 0 and set(report) == {
        "format", "format_version", "created", "mode", "port", "dut", "data", "settings", "link",
        "performance", "accuracy", "valid", "errors",
    }  # fmt: skip
    acc = report["accuracy"]
    assert report["performance"] is None and acc["count"] == 6 and len(acc["files"]) == 6
    assert set(acc["files"][0]) == {"file", "label", "scores", "normalised", "predicted", "correct"}
    assert f"top-1 {100 * acc['top1']:.2f}%" in capsys.readouterr().out
    html = (tmp_path / "r" / "report.html").read_text()
    assert "ROC (AUC" in html and "<svg" in html and "<script" not in html


def test_bad_data_is_one_line_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "y_labels.csv").write_text("missing.bin,2,1\n")
    code = main(["mlperf", "--port", "loop://", "--mode", "accuracy", "--data", str(tmp_path / "d"),
                 "--report", str(tmp_path / "r")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "missing.bin does not exist" in err[0]
    assert not (tmp_path / "r").exists()


def test_sim_mlperf_refuses_binary_protocol_options(model, capsys):
    assert main(["sim", "--mlperf", "--model", str(model), "--fault-rate", "0.01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "are for the binary protocol, not --mlperf" in err[0]
    assert main(["sim", "--mlperf", "--model", str(model), "--error-every", "-1"]) == 2
