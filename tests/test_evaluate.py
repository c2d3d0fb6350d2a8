"""`vwwdeploy evaluate` on a checkpoint: the seed's eval line, JSON, and refusals."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from test_train_support import tiny_trained

from vwwdeploy.cli import main
from vwwdeploy.training.evaluation import quantize_input
from vwwdeploy.training.preprocess import to_float, to_int8


@pytest.fixture(scope="module")
def trained():
    return tiny_trained()


def test_checkpoint_accuracy_line_and_json(trained, capsys):
    train_dir, dataset = trained
    assert main(["evaluate", "--checkpoint", str(train_dir), "--dataset", str(dataset)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"eval/Accuracy\[\d\.\d{4}\]", out[0]), out
    assert main(["evaluate", "--checkpoint", str(train_dir), "--dataset", str(dataset), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert captured.err.strip().startswith("eval/Accuracy[")
    assert result["kind"] == "checkpoint" and result["count"] == 16 and result["split"].endswith("val")
    assert result["accuracy"] == pytest.approx(result["correct"] / result["count"])
    assert f"eval/Accuracy[{result['accuracy']:.4f}]" == out[0]
    assert sum(c["count"] for c in result["per_class"].values()) == 16
    assert result["label_names"] == ["notperson", "person"] and result["step"] == 4
    # --split train of the dataset folder
    assert (
        main(["evaluate", "--checkpoint", str(train_dir), "--dataset", str(dataset), "--split", "train", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["count"] == 32


def test_int8_input_follows_the_model_quantization():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    standard = {"dtype": np.int8, "quantization": (2 / 255, -1)}
    np.testing.assert_array_equal(quantize_input(pixels, standard), to_int8(pixels))
    other = {"dtype": np.int8, "quantization": (1 / 64, 3)}
    q = quantize_input(pixels, other)
    assert q.dtype == np.int8 and q.min() == -61 and q.max() == 67
    np.testing.assert_array_equal(
        quantize_input(pixels, {"dtype": np.float32, "quantization": (0, 0)}), to_float(pixels)
    )


def test_bad_input_is_one_line(trained, tmp_path, capsys):
    train_dir, dataset = trained
    no_ckpt = tmp_path / "fresh"
    no_ckpt.mkdir()
    (no_ckpt / "config.json").write_text((train_dir / "config.json").read_text())
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"not a flatbuffer at all")
    cases = [
        (["--checkpoint", str(tmp_path / "nope"), "--dataset", str(dataset)], "no such train dir"),
        (["--checkpoint", str(tmp_path), "--dataset", str(dataset)], "not a vwwdeploy train dir"),
        (["--checkpoint", str(no_ckpt), "--dataset", str(dataset)], "no checkpoint yet"),
        (["--checkpoint", str(train_dir), "--dataset", str(tmp_path / "nodata")], "no such dataset folder"),
        (["--model", str(tmp_path / "missing.tflite"), "--dataset", str(dataset)], "no such model file"),
        (["--model", str(garbage), "--dataset", str(dataset)], "LiteRT cannot load"),
        (["--checkpoint", str(train_dir), "--dataset", str(dataset), "--limit", "0"], "--limit"),
        (["--checkpoint", str(train_dir), "--model", str(garbage), "--dataset", str(dataset)], None),
    ]
    for args, message in cases:
        try:
            code = main(["evaluate", *args])
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        assert code == 2, (args, captured.err)
        assert "Traceback" not in captured.err and captured.out == ""
        if message:
            lines = captured.err.strip().splitlines()
            assert len(lines) == 1 and message in lines[0], (args, captured.err)
