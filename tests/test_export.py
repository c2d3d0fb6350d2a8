"""`vwwdeploy export`: int8 in the upstream op set, input scale 2/255 / zero point -1, float vs int8 on the
same images, the degenerate-softmax warning, and refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from test_train_support import tiny_trained

from vwwdeploy.cli import main
from vwwdeploy.training.checkpoint import latest_checkpoint, read_checkpoint
from vwwdeploy.training.export import EXPECTED_OPS, softmax_is_degenerate


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    train_dir, dataset = tiny_trained()
    out = tmp_path_factory.mktemp("export") / "model.tflite"
    summary_lines = []
    from vwwdeploy.training.export import export_int8

    summary = export_int8(train_dir, dataset, out, calibration_images=300, log=summary_lines.append)
    return out, summary, train_dir, dataset


def test_ops_and_quantization_are_the_person_detectors(exported):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    out, summary, _, _ = exported
    interpreter = Interpreter(
        model_path=str(out), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    interpreter.allocate_tensors()
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert ops == set(EXPECTED_OPS)
    (inp,), (outp,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert list(inp["shape"]) == [1, 32, 32, 1] and inp["dtype"] == np.int8
    assert inp["quantization"][0] == pytest.approx(2 / 255, abs=1e-7) and inp["quantization"][1] == -1
    assert list(outp["shape"]) == [1, 2] and outp["dtype"] == np.int8
    assert summary["bytes"] == out.stat().st_size and summary["calibration_images"] == 16  # all val images
    assert summary["tflm_ok"] is True and summary["warnings"] == []


def test_float_and_int8_compare_on_the_same_images(exported, capsys):
    out, summary, train_dir, dataset = exported
    assert summary["eval_count"] == 16
    assert summary["accuracy_drop"] == pytest.approx(summary["float_accuracy"] - summary["int8_accuracy"])
    assert main(["evaluate", "--model", str(out), "--dataset", str(dataset), "--json"]) == 0
    int8 = json.loads(capsys.readouterr().out)
    assert int8["kind"] == "tflite" and int8["input_dtype"] == "int8"
    assert int8["accuracy"] == summary["int8_accuracy"]
    assert main(["evaluate", "--checkpoint", str(train_dir), "--dataset", str(dataset), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == summary["float_accuracy"]


def test_cli_prints_both_accuracies_and_the_drop(exported, tmp_path, capsys):
    _, _, train_dir, dataset = exported
    out = tmp_path / "cli.tflite"
    assert (
        main(
            [
                "export",
                "--checkpoint",
                str(train_dir),
                "--dataset",
                str(dataset),
                "--out",
                str(out),
                "--calibration-images",
                "8",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "float accuracy" in text and "int8 accuracy" in text and "drop" in text
    assert "input int8 scale 0.00784314 zero point -1" in text
    assert out.is_file()


def test_degenerate_softmax_is_detected_and_warned(exported, tmp_path):
    """A collapsed model (constant logits) gives the softmax input a scale TFLM refuses."""
    from vwwdeploy.training.export import export_int8

    _, _, train_dir, dataset = exported
    broken = tmp_path / "broken"
    shutil.copytree(train_dir, broken)
    ckpt = latest_checkpoint(broken)
    arrays = read_checkpoint(ckpt)
    ema = sorted(k for k in arrays if k.startswith("ema/"))
    # the last two model weights are the logits kernel and bias
    arrays[ema[-2]] = np.zeros_like(arrays[ema[-2]])
    arrays[ema[-1]] = np.zeros_like(arrays[ema[-1]])
    np.savez(ckpt, **arrays)
    summary = export_int8(
        broken, dataset, tmp_path / "broken.tflite", calibration_images=4, evaluate=False, log=lambda line: None
    )
    assert softmax_is_degenerate(summary["softmax_input_scale"])
    assert any("degenerate" in w for w in summary["warnings"]), summary["warnings"]
    assert summary["tflm_ok"] is False


def test_degenerate_threshold():
    assert softmax_is_degenerate(1e-9) and softmax_is_degenerate(2.0**-26)
    assert not softmax_is_degenerate(1e-7) and not softmax_is_degenerate(0.08)


def test_bad_input_is_one_line_and_writes_nothing(exported, tmp_path, capsys):
    _, _, train_dir, dataset = exported
    config_before = (train_dir / "config.json").read_bytes()
    cases = [
        ([str(train_dir), str(dataset), str(dataset / "val" / "m.tflite")], "inside the dataset folder"),
        ([str(train_dir), str(dataset), str(train_dir / "config.json")], "must be a .tflite"),
        ([str(train_dir), str(dataset), str(train_dir / "ckpt-000000004.tflite")], "train dir's own file"),
        ([str(train_dir), str(dataset), str(tmp_path / "model.bin")], "must be a .tflite"),
        ([str(tmp_path / "none"), str(dataset), str(tmp_path / "a.tflite")], "no such train dir"),
        ([str(train_dir), str(tmp_path / "none"), str(tmp_path / "b.tflite")], "no such dataset folder"),
    ]
    (tmp_path / "dir.tflite").mkdir()
    cases.append(([str(train_dir), str(dataset), str(tmp_path / "dir.tflite")], "is a directory"))
    for (ckpt, data, out), message in cases:
        code = main(["export", "--checkpoint", ckpt, "--dataset", data, "--out", out])
        captured = capsys.readouterr()
        assert code == 2, (out, captured.err)
        lines = captured.err.strip().splitlines()
        assert "Traceback" not in captured.err and message in lines[-1] and len(lines) == 1, captured.err
    code = main(
        [
            "export",
            "--checkpoint",
            str(train_dir),
            "--dataset",
            str(dataset),
            "--out",
            str(tmp_path / "c.tflite"),
            "--calibration-images",
            "0",
        ]
    )
    assert code == 2 and "--calibration-images" in capsys.readouterr().err
    assert not list(dataset.rglob("*.tflite")) and not (tmp_path / "c.tflite").exists()
    assert (train_dir / "config.json").read_bytes() == config_before
