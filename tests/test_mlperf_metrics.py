"""MLPerf Tiny figures and protocol text, without a board."""

from __future__ import annotations

import numpy as np
import pytest

from vwwdeploy.apps.mlperf import metrics
from vwwdeploy.apps.mlperf.dut import quantize_input
from vwwdeploy.link import mlperf_protocol as p


def test_auc_hanley_mcneil_1982_rating_example():
    """Hanley & McNeil (Radiology 143:29, 1982), Table 1: 109 CT images rated 1-5; the area under the
    trapezoidal ROC curve, ties counted one half, is 0.893."""
    normal, abnormal = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    ratings = np.arange(1, 6)
    scores = np.concatenate([np.repeat(ratings, normal), np.repeat(ratings, abnormal)])
    labels = np.concatenate([np.zeros(58), np.ones(51)])
    assert metrics.roc_auc(labels, scores) == pytest.approx(0.893, abs=5e-4)


def test_auc_small_examples_and_degenerate_cases():
    assert metrics.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)  # one pair out of 4 swapped
    assert metrics.roc_auc([0, 1, 0, 1], [0.2, 0.9, 0.3, 0.8]) == 1.0
    assert metrics.roc_auc([1, 0], [0.5, 0.5]) == 0.5  # a tie counts one half
    assert metrics.roc_auc([1, 1], [0.5, 0.7]) is None  # one class only
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.35, 0.65], [0.2, 0.8]])
    assert metrics.multiclass_auc(np.array([0, 0, 1, 1]), probs) == 1.0
    three = np.eye(3)[[0, 1, 2, 0]] * 0.8 + 0.1
    assert metrics.multiclass_auc(np.array([0, 1, 2, 0]), three) == 1.0


def test_throughput_and_wrap():
    assert metrics.throughput(20, 1_000_000, 3_000_000) == pytest.approx(10.0)
    # the 32-bit microsecond counter wrapped between the two laps
    assert metrics.elapsed_us(2**32 - 500_000, 1_500_000) == 2_000_000
    assert metrics.throughput(20, 2**32 - 500_000, 1_500_000) == pytest.approx(10.0)


def _windows(rates):
    return [{"throughput": r} for r in rates]


def test_performance_summary_median_and_refusals():
    ok = metrics.performance_summary(_windows([4.0, 5.0, 1.0, 5.5, 4.5]), duration_s=12.0)
    assert ok["valid"] and ok["median_throughput"] == 4.5 and ok["latency_ms"] == pytest.approx(1000 / 4.5)
    short = metrics.performance_summary(_windows([5.0] * 5), duration_s=9.5)
    assert not short["valid"] and "10 s minimum" in short["errors"][0]
    wrong = metrics.performance_summary(_windows([5.0] * 4), duration_s=20.0)
    assert not wrong["valid"] and "exactly 5" in wrong["errors"][0]


def test_normalise_and_top1():
    probs = np.array([metrics.normalise([0.2, 0.6]), metrics.normalise([3, 1])])
    assert probs[0] == pytest.approx([0.25, 0.75]) and probs[1] == pytest.approx([0.75, 0.25])
    assert metrics.top1(probs, np.array([1, 1])) == 0.5


def test_db_commands_fit_the_command_buffer():
    data = bytes(range(100))
    cmds = p.db_commands(data)
    assert cmds[0] == "db load 100" and len(cmds) == 1 + 4  # 31 + 31 + 31 + 7
    assert b"".join(bytes.fromhex(c[3:]) for c in cmds[1:]) == data
    assert all(len(c) + 1 <= p.CMD_BUFFER for c in cmds)  # the reference DUT's 80 characters
    assert len(p.db_commands(bytes(600), chunk=254)[1]) == 3 + 508  # within the firmware's 512
    with pytest.raises(ValueError):
        p.db_commands(data, chunk=255)


def test_reply_parsing():
    lines = ["m-warmup-start-5", "m-lap-us-100", "m-lap-us-2100", "m-infer-done", "m-results-[0.125,0.875,]"]
    assert p.parse_laps(lines) == [100, 2100]
    assert p.parse_results(lines) == [0.125, 0.875]  # the trailing comma of the reference firmware
    assert p.parse_results(["m-results-[0.1,x]"]) is None
    assert p.parse_profile(["m-profile-[ULPMark]", "m-model-[vww01]"]) == {"profile": "ULPMark", "model": "vww01"}
    assert p.parse_name(["m-name-dut-[edge]"]) == "edge"
    assert p.error_text("e-[Unknown command: foo]") == "Unknown command: foo"
    assert p.error_text("m-ready") is None
    assert p.clean_line(b"m-ready\r\0") == "m-ready"


def test_quantize_input_uses_the_model_scale_and_zero_point():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (30, 60, 90)
    rgb[1, 1] = (255, 255, 255)
    q = quantize_input(rgb.tobytes(), (1, 2, 2, 3), 1 / 255, -128, "int8")
    assert q.shape == (1, 2, 2, 3) and q[0, 0, 0].tolist() == [-98, -68, -38] and q[0, 1, 1].tolist() == [127] * 3
    gray = quantize_input(rgb.tobytes(), (1, 2, 2, 1), 1 / 255, -128, "int8")
    assert gray[0, 0, 0, 0] == 60 - 128 and gray[0, 0, 1, 0] == -128  # one channel: the mean of the three
    half = quantize_input(rgb.tobytes(), (1, 2, 2, 1), 2 / 255, -1, "int8")
    assert half[0, 1, 1, 0] == 127  # 255 -> 1.0 -> round(127.5) - 1 = 127


def test_quantize_input_rounds_float32_ties_up_as_the_firmware_table():
    """The upstream detector's float32 2/255 puts each odd pixel 2e-8 below a tie; both sides round it up
    (firmware/tests/test_mlperf.cc checks the same table)."""
    pixels = np.repeat(np.arange(256, dtype=np.uint8), 3).reshape(16, 16, 3)
    q = quantize_input(pixels.tobytes(), (1, 16, 16, 1), float(np.float32(2 / 255)), -1, "int8").reshape(-1)
    assert q.tolist() == [(v + 1) // 2 - 1 for v in range(256)]
