"""validate's comparisons and reports on fabricated arrays (no board, no model)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from vwwdeploy.apps.validation import metrics
from vwwdeploy.apps.validation.inputs import ValidationInputs
from vwwdeploy.apps.validation.paths import PathOutput
from vwwdeploy.apps.validation.report_html import render_html, svg_confusion, svg_histogram, svg_scatter
from vwwdeploy.apps.validation.report_json import build_report
from vwwdeploy.apps.validation.runner import BoardRun, ValidationRun, _results_csv


def test_int8_agreement_counts_exact_off_by_one_and_top1():
    a = np.array([[10, -10], [5, -5], [0, 1], [-20, 20]], dtype=np.int8)
    b = np.array([[10, -10], [6, -5], [1, 0], [-23, 20]], dtype=np.int8)
    r = metrics.int8_agreement(a, b)
    assert r["bit_exact_rate"] == 0.25
    assert r["max_abs_delta"] == 3
    assert r["off_by_one_rate"] == 0.5  # rows 1 and 2 differ by exactly one unit at most
    assert r["top1_agreement"] == 0.75  # row 2 flips its argmax
    assert r["delta_histogram"] == {"0": 1, "1": 2, "3": 1}


def test_int8_agreement_does_not_wrap_int8():
    a = np.array([[127, -128]], dtype=np.int8)
    b = np.array([[-128, 127]], dtype=np.int8)
    assert metrics.int8_agreement(a, b)["max_abs_delta"] == 255


def test_int8_agreement_rejects_shape_mismatch_and_handles_empty():
    with pytest.raises(ValueError):
        metrics.int8_agreement(np.zeros((2, 2)), np.zeros((2, 3)))
    assert metrics.int8_agreement(np.zeros((0, 2)), np.zeros((0, 2)))["bit_exact_rate"] is None


def test_cross_metrics_identical_and_known_values():
    x = np.array([[0.25, 0.75], [0.5, 0.5]])
    same = metrics.cross_metrics(x, x)
    assert same["rmse"] == 0 and same["mae"] == 0 and same["cosine"] == pytest.approx(1.0) and same["l2r"] == 0
    y = x + np.array([[0.1, -0.1], [0.0, 0.0]])
    r = metrics.cross_metrics(x, y)
    assert r["mae"] == pytest.approx(0.05)
    assert r["rmse"] == pytest.approx(np.sqrt(0.02 / 4))
    assert r["cosine"] < 1.0
    assert metrics.cross_metrics(np.zeros(3), np.ones(3))["cosine"] == 0.0


def test_accuracy_confusion_latency_histogram():
    pred = np.array([1, 0, 1, 1])
    labels = np.array([1, 0, 0, 1])
    assert metrics.accuracy(pred, labels) == 0.75
    assert metrics.confusion_matrix(pred, labels, 2) == [[1, 1], [0, 2]]
    lat = metrics.latency_summary([100, 200, 300, 400, 1000])
    assert (lat["min_us"], lat["median_us"], lat["max_us"]) == (100, 300, 1000)
    assert 400 < lat["p90_us"] < 1000
    counts, edges = metrics.histogram([5, 5, 5])
    assert sum(counts) == 3 and len(edges) == len(counts) + 1
    assert metrics.dequantize(np.array([-128, 127]), 1 / 256, -128).tolist() == [0.0, 255 / 256]


def _fake_run(n=12, disagree=(3,), device_delta=None):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, n)
    twin_q = np.where(labels[:, None] == 1, [[-100, 100]], [[90, -90]]).astype(np.int8)
    dev_q = twin_q.copy()
    for i in disagree:
        dev_q[i] = dev_q[i][::-1]
    if device_delta is not None:
        dev_q = (dev_q.astype(int) + device_delta).clip(-128, 127).astype(np.int8)
    lit_q = twin_q.copy()
    lit_q[0, 0] += 1  # a rounding difference
    deq = lambda q: metrics.dequantize(q, 1 / 256, -128)  # noqa: E731
    inputs = ValidationInputs(
        source="csv",
        data_path="labels.csv",
        preprocessing="test",
        names=[f"img{i}.jpg" for i in range(n)],
        labels=labels,
        pixels=rng.integers(0, 256, (n, 96, 96, 1), dtype=np.uint8),
        total_available=n,
    )
    boards = [
        BoardRun(
            port="socket://a:1",
            sha_match=True,
            indices=list(range(0, n, 2)),
            wall_s=1.0,
            link={"requests": 6, "retries": 1, "bytes_sent": 1000, "bytes_received": 100},
        ),
        BoardRun(
            port="socket://b:2",
            sha_match=True,
            indices=list(range(1, n, 2)),
            wall_s=2.0,
            link={"requests": 6, "retries": 0, "bytes_sent": 1000, "bytes_received": 100},
        ),
    ]
    board_of = np.array([i % 2 for i in range(n)])
    return ValidationRun(
        version="0",
        model={"path": "m.tflite", "sha256": "ab" * 32},
        inputs=inputs,
        label_names=["no<person>", "person"],
        num_classes=2,
        paths={
            "device": PathOutput("device", True, q=dev_q, probs=deq(dev_q)),
            "twin": PathOutput("twin", True, q=twin_q, probs=deq(twin_q)),
            "litert": PathOutput("litert", True, q=lit_q, probs=deq(lit_q)),
            "float": PathOutput.unavailable("float", "no --checkpoint given"),
        },
        latency_us=np.arange(n) * 1000 + 50_000,
        instructions=np.zeros(n, np.int64),
        board_of=board_of,
        boards=boards,
    )


def test_report_json_shape_and_numbers():
    run = _fake_run()
    report = json.loads(json.dumps(build_report(run)))  # must be plain JSON
    for name in ("device", "twin", "litert", "float"):
        assert "accuracy" in report["paths"][name]
    assert report["paths"]["twin"]["accuracy"] == 1.0
    assert report["paths"]["device"]["accuracy"] == pytest.approx(11 / 12)
    assert report["paths"]["float"] == {
        "available": False,
        "reason": "no --checkpoint given",
        "accuracy": None,
        "confusion_matrix": None,
        "predictions": None,
    }
    assert report["device_vs_twin"]["bit_exact_rate"] == pytest.approx(11 / 12)
    assert report["device_vs_twin"]["max_abs_delta"] >= 180
    assert report["twin_vs_litert"]["off_by_one_rate"] == pytest.approx(1 / 12)
    assert report["cross_metrics"]["device_vs_float"]["available"] is False
    rows = report["boards"]
    assert [r["images"] for r in rows] == [6, 6]
    assert rows[0]["bit_exact_rate_vs_twin"] == 1.0  # image 3 went to the second board
    assert rows[1]["bit_exact_rate_vs_twin"] == pytest.approx(5 / 6)
    assert report["link"]["retries"] == 1 and report["link"]["wall_s"] == 2.0
    assert report["latency_us"]["min_us"] == 50_000


def test_report_html_is_self_contained_and_escaped():
    run = _fake_run()
    html = render_html(build_report(run), run)
    assert html.count("<svg") >= 5  # 3 confusion matrices, scatters, latency histogram
    assert "data:image/png;base64," in html  # thumbnail of the disagreeing image
    assert html.count("img3.jpg") == 2  # shown where paths disagree and among the device's mistakes
    assert "no&lt;person&gt;" in html and "no<person>" not in html
    # nothing fetched: no scripts, no external URLs (the SVG namespace is not a fetch)
    assert "<script" not in html
    assert not re.search(r"(src|href)=['\"]https?:", html)


def test_report_html_without_disagreement_shows_no_thumbnails():
    run = _fake_run(disagree=())
    run.paths["litert"] = PathOutput.unavailable("litert", "LiteRT refused the model")
    html = render_html(build_report(run), run)
    assert "LiteRT refused the model" in html
    assert "Nowhere: every path has the same top-1" in html
    assert "<figure>" not in html  # the fabricated device makes no mistake either


def test_results_csv_has_one_row_per_image():
    run = _fake_run()
    lines = _results_csv(run).splitlines()
    assert lines[0].startswith("index,image,label,board,latency_us,device_scores,twin_scores,litert_scores")
    assert len(lines) == 13
    assert ",socket://b:2," in lines[4]  # image 3


def test_svg_helpers_draw_something():
    assert "<rect" in svg_confusion([[3, 1], [0, 4]], ["a", "b"], "t")
    assert svg_scatter(np.array([0.1, 0.9]), np.array([0.1, 0.8]), "x", "y", "t").count("<circle") == 2
    assert svg_histogram([], "t", "x") == ""
    assert svg_histogram([1, 2, 3], "t", "x").count("<rect") == 20
