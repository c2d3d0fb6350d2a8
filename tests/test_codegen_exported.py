"""The model tools on a model from the project's own pipeline: a short `vwwdeploy train` run on tiny
data, `vwwdeploy export`, then inspect and codegen (compiled and run on the host)."""

from __future__ import annotations

import pytest
from test_codegen import compile_and_run_host
from test_train_support import run_cli, tiny_dataset

from vwwdeploy.model import generate_sources, inspect_model


@pytest.mark.slow
def test_short_training_run_export_inspect_codegen(tmp_path):
    data = tiny_dataset(tmp_path / "ds", n_train=32, n_val=16)
    train = run_cli(
        "train",
        "--dataset",
        str(data),
        "--train-dir",
        str(tmp_path / "train"),
        "--max-steps",
        "30",
        "--image-size",
        "32",
        "--batch-size",
        "8",
        timeout=600,
    )
    assert train.returncode == 0, train.stderr[-2000:]
    model = tmp_path / "model.tflite"
    export = run_cli(
        "export",
        "--checkpoint",
        str(tmp_path / "train"),
        "--dataset",
        str(data),
        "--out",
        str(model),
        "--calibration-images",
        "16",
        "--no-eval",
        timeout=600,
    )
    assert export.returncode == 0, export.stderr[-2000:]

    report = inspect_model(model)
    assert report["ok"] and report["problems"] == [], report["problems"]
    assert set(report["ops"]) == {"AVERAGE_POOL_2D", "CONV_2D", "DEPTHWISE_CONV_2D", "RESHAPE", "SOFTMAX"}
    assert report["inputs"][0]["shape"] == [1, 32, 32, 1] and report["inputs"][0]["zero_point"] == -1
    assert report["loads"]["tflm"] and report["loads"]["litert"]

    out = tmp_path / "gen"
    generate_sources(model, out)
    got = compile_and_run_host(out, tmp_path)
    assert got["input"] == "32x32x1" and got["labels"] == "notperson,person"
    assert got["ops"] == got["calls"] == "5"
    assert got["arena"] == f"{report['arena']['measured_bytes']}/{report['arena']['size_bytes']}"
