"""`vwwdeploy import`: int8 MobileNetV1 .tflite -> float train dir, checked against the int8 model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import UPSTREAM_EXPECTED_SCORES
from mobilenet_models import calibration, mobilenet_tflite, not_a_mobilenet_tflite, zero_one_input_tflite

from vwwdeploy.cli import main


def _error_lines(capsys) -> list[str]:
    err = capsys.readouterr().err
    return [line for line in err.splitlines() if line.startswith("vwwdeploy import: error:")]


@pytest.fixture(scope="module")
def own_models(tmp_path_factory):
    """A 1-channel conv-head model from the export path and an RGB FULLY_CONNECTED-head one (32x32)."""
    folder = tmp_path_factory.mktemp("models")
    gray_bytes, gray_keras = mobilenet_tflite(channels=1, seed=3)
    rgb_bytes, rgb_keras = mobilenet_tflite(channels=3, dense_head=True, seed=4)
    (folder / "gray.tflite").write_bytes(gray_bytes)
    (folder / "rgb_fc.tflite").write_bytes(rgb_bytes)
    (folder / "other.tflite").write_bytes(not_a_mobilenet_tflite())
    (folder / "zero_one.tflite").write_bytes(zero_one_input_tflite())
    return {"folder": folder, "gray_keras": gray_keras, "rgb_keras": rgb_keras}


@pytest.mark.slow
def test_upstream_detector_round_trips(upstream_model, upstream_test_images, tmp_path, capsys):
    from PIL import Image

    from vwwdeploy.training.checkpoint import load_float_model

    out = tmp_path / "upstream"
    assert main(["import", str(upstream_model), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "largest difference of any of the 29" in err
    report = json.loads((out / "import.json").read_text())
    assert report["agreement"]["max_layer_difference_steps"] <= 1.0
    assert report["agreement"]["argmax_agreement"] == 1.0

    model, config = load_float_model(out)
    assert (config.width, config.image_size, config.channels, config.num_classes) == (0.25, 96, 1, 2)
    assert config.label_names == ["notperson", "person"]
    for name, path in upstream_test_images.items():
        pixels = np.asarray(Image.open(path), dtype=np.float32)
        x = ((pixels - 127.0) * (2.0 / 255.0))[None, ..., None]  # the int8 input (pixel - 128), dequantized
        probs = np.asarray(model(x))[0]
        expected = (np.array(UPSTREAM_EXPECTED_SCORES[name]) + 128) / 256.0
        assert np.abs(probs - expected).max() <= 1 / 256, (name, probs, expected)


@pytest.mark.slow
def test_own_export_round_trips_to_the_original_float_model(own_models, tmp_path):
    from vwwdeploy.training.checkpoint import load_float_model

    out = tmp_path / "gray"
    assert main(["import", str(own_models["folder"] / "gray.tflite"), "--out", str(out)]) == 0
    report = json.loads((out / "import.json").read_text())
    assert report["agreement"]["max_layer_difference_steps"] <= 1.0
    imported, config = load_float_model(out)
    assert (config.image_size, config.channels, config.num_classes) == (32, 1, 2)
    # Every kernel and bias is the original's with batch norm folded in, up to int8 rounding.
    from keras import layers as kl

    original = own_models["gray_keras"]
    convs = [c for c in original.layers if isinstance(c, (kl.Conv2D, kl.DepthwiseConv2D)) and c.name != "logits"]
    assert len(convs) == 27
    for conv in convs:
        gamma, beta, mean, var = original.get_layer(f"{conv.name}_bn").get_weights()
        factor = gamma / np.sqrt(var + 1e-3)
        kernel = conv.get_weights()[0]
        folded = kernel * (factor if kernel.shape[3] == factor.size else factor.reshape(1, 1, -1, 1))
        got = imported.get_layer(conv.name).get_weights()[0]
        step = np.abs(folded).max() / 127
        assert np.abs(got - folded).max() <= step, conv.name
        bias = beta - mean * factor
        got_bias = imported.get_layer(f"{conv.name}_bn").beta.numpy()
        assert np.abs(got_bias - bias).max() <= 1e-3 + 1e-3 * np.abs(bias).max(), conv.name


@pytest.mark.slow
def test_grayscale_is_exact_on_gray_input_and_maps_a_dense_head(own_models, tmp_path):
    from vwwdeploy.training.checkpoint import load_float_model

    source = own_models["folder"] / "rgb_fc.tflite"
    rgb_dir, gray_dir = tmp_path / "rgb", tmp_path / "gray"
    assert main(["import", str(source), "--out", str(rgb_dir)]) == 0
    assert main(["import", str(source), "--out", str(gray_dir), "--grayscale"]) == 0
    rgb, rgb_config = load_float_model(rgb_dir)
    gray, gray_config = load_float_model(gray_dir)
    assert (rgb_config.channels, gray_config.channels) == (3, 1)

    pictures = calibration(32, 1, n=8, seed=5).astype(np.float32) / 127.5 - 1.0
    on_rgb = np.asarray(rgb(np.repeat(pictures, 3, axis=3)))
    on_gray = np.asarray(gray(pictures))
    assert np.abs(on_rgb - on_gray).max() < 1e-5
    # ... and the check can fail: colour pictures are not what the summed convolution sees.
    colour = calibration(32, 3, n=8, seed=6).astype(np.float32) / 127.5 - 1.0
    luma = colour.mean(axis=3, keepdims=True)
    assert np.abs(np.asarray(rgb(colour)) - np.asarray(gray(luma))).max() > 1e-3
    # The dense head's weights went into the 1x1 logits convolution.
    dense = own_models["rgb_keras"].get_layer("dense").get_weights()[0]
    logits = gray.get_layer("logits").get_weights()[0][0, 0]
    assert np.abs(dense - logits).max() < 0.02


@pytest.mark.slow
def test_bad_input_is_one_line_and_writes_nothing(own_models, tmp_path, capsys):
    folder = own_models["folder"]
    cases = [
        ([str(folder / "other.tflite")], "cannot map operator 1 (MEAN)"),
        ([str(folder / "gray.tflite"), "--grayscale"], "already takes 1-channel input"),
        ([str(folder / "zero_one.tflite")], "takes pixel / 255; train dirs take pixel / 127.5 - 1"),
        ([str(tmp_path / "missing.tflite")], "no such file"),
        ([str(folder / "gray.tflite"), "--labels", "a,b,c"], "3 label names given, the model has 2 classes"),
        ([str(folder / "gray.tflite"), "--tolerance-steps", "0.01"], "disagrees with the int8 model"),
    ]
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    cases.append(([str(junk)], "not a .tflite model"))
    for args, message in cases:
        out = tmp_path / "out"
        assert main(["import", *args, "--out", str(out)]) == 2, args
        lines = _error_lines(capsys)
        assert len(lines) == 1 and message in lines[0], (args, lines)
        assert not out.exists(), args
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")], args
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("x")
    assert main(["import", str(folder / "gray.tflite"), "--out", str(taken)]) == 2
    assert "exists and is not empty" in _error_lines(capsys)[0]
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
