"""Model-specialised kernels (vwwdeploy/model/kernels/, firmware/kernels/): which layers the generator covers,
what it refuses, TFLM's quantization arithmetic, and bit-exactness on the host against TFLM's
reference kernels (g++ build; needs the generated TFLM tree and the shared model, skips otherwise)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from vwwdeploy.model.kernels.generate import (
    activation_range,
    decide,
    plan,
    quantize_multiplier,
    same_padding,
    sources,
)
from vwwdeploy.model.kernels.layers import Layer, TensorInfo, read_layers


def _tensor(index, shape, data=None, scale=(0.5,), zp=(0,), dtype=9):
    return TensorInfo(index, tuple(shape), dtype, np.asarray(scale, np.float32), np.asarray(zp), data)


def _conv(kh, stride, op="CONV_2D", cin=8, cout=8, dm=0):
    w = np.ones((cout, kh, kh, cin) if op == "CONV_2D" else (1, kh, kh, cout), np.int8)
    bias = np.zeros(cout, np.int32)
    return Layer(
        3,
        op,
        [
            _tensor(0, (1, 12, 12, cin)),
            _tensor(1, w.shape, w, scale=[0.01] * cout, zp=[0] * cout),
            _tensor(2, (cout,), bias, dtype=2),
        ],
        [_tensor(4, (1, 12 // stride, 12 // stride, cout), scale=(0.1,), zp=(-128,))],
        stride=(stride, stride),
        padding="SAME",
        activation="RELU6",
        depth_multiplier=dm,
    )


def test_upstream_detector_every_convolution_covered(upstream_model):
    decisions = plan(upstream_model)
    by_kernel = {}
    for d in decisions:
        by_kernel.setdefault(d.kernel, []).append(d.layer.index)
    assert by_kernel["conv1x1"] == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28]
    assert by_kernel["depthwise3x3_single_channel"] == [0]
    assert len(by_kernel["depthwise3x3"]) == 13
    assert [decisions[i].layer.op for i in by_kernel[None]] == ["AVERAGE_POOL_2D", "RESHAPE", "SOFTMAX"]


def test_uncovered_parameters_are_refused_with_one_line():
    for layer in (_conv(3, 2), _conv(1, 2), _conv(5, 1, "DEPTHWISE_CONV_2D", dm=1), _conv(1, 1, cin=6)):
        d = decide(layer)
        assert d.kernel is None
        assert d.reason and "\n" not in d.reason
    assert decide(_conv(1, 1)).kernel == "conv1x1"
    assert decide(_conv(3, 2, "DEPTHWISE_CONV_2D", dm=1)).kernel == "depthwise3x3"


def test_refused_layers_are_left_to_cmsis_nn(upstream_model, tmp_path, monkeypatch):
    import vwwdeploy.model.kernels.generate as gen

    real = gen.decide
    monkeypatch.setattr(
        gen, "decide", lambda layer: gen.Decision(layer, None, "test") if layer.index == 6 else real(layer)
    )
    texts, decisions = sources(upstream_model)
    assert decisions[6].kernel is None
    assert "// op 6: CONV_2D runs on CMSIS-NN: test" in texts["vww_generated_kernels.cc"]
    assert (
        "void layer6(" not in texts["vww_generated_kernels.cc"] and "void layer4(" in texts["vww_generated_kernels.cc"]
    )
    # the specialised registrations are used for both convolution ops; the others keep TFLM's
    header = texts["vww_generated_kernels.h"]
    assert "AddConv2D(vww_kernels::Register_CONV_2D_SPECIALISED())" in header
    assert "AddSoftmax()" in header and "AddAveragePool2D()" in header


def test_quantize_multiplier_like_tflm():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    m, s = quantize_multiplier(0.0123)
    assert (1 << 30) <= m < (1 << 31) and abs(m * 2.0**s / 2**31 - 0.0123) < 1e-9
    # rounding up to 2^31 renormalises
    assert quantize_multiplier(1 - 2.0**-40) == (1 << 30, 1)


def test_activation_range_and_padding():
    assert activation_range("RELU6", np.float32(6 / 255), -128) == (-128, 127)
    assert activation_range("RELU6", np.float32(0.1), -10) == (-10, 50)
    assert activation_range("NONE", np.float32(0.1), 3) == (-128, 127)
    assert same_padding(96, 48, 2, 3) == 0 and same_padding(48, 48, 1, 3) == 1


def test_layers_read_from_the_model(upstream_model):
    layers = read_layers(upstream_model)
    assert layers[0].op == "DEPTHWISE_CONV_2D" and layers[0].depth_multiplier == 8
    assert layers[0].inputs[1].data.shape == (1, 3, 3, 8)
    assert sum(layer.macs for layer in layers) == 7_157_888


def _reference_tree() -> Path:
    from vwwdeploy.firmware import tflm_tree

    path = tflm_tree.tree_dir("reference")
    if not (path / tflm_tree.COMPLETE).is_file():
        pytest.skip(f"no TFLM reference tree at {path} (`python -m vwwdeploy.firmware.tflm_tree reference`)")
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed")
    return path


@pytest.mark.slow
def test_host_build_bit_exact_with_tflm_reference_kernels(upstream_model, tmp_path):
    from vwwdeploy.testing.kernel_host_check import check_on_host

    checks = check_on_host(upstream_model, _reference_tree(), tmp_path, trials=8)
    assert [c.op_index for c in checks] == [d.layer.index for d in plan(upstream_model) if d.kernel]
    for c in checks:
        assert (c.trials, c.mismatches, c.quant_mismatches) == (8, 0, 0), c


@pytest.mark.slow
def test_host_build_bit_exact_on_the_mlperf_model(tmp_path):
    # Wider requantization paths (64-bit high multiply, separate output offset, 64-bit rounding) and a
    # refused first layer (3x3 CONV_2D on 3 channels), left to CMSIS-NN.
    from vwwdeploy.model.kernels.generate import SEPARATE_OFFSET, WIDE, WIDE_ROUNDING, _layer_source
    from vwwdeploy.paths import cache_dir
    from vwwdeploy.testing.kernel_host_check import check_on_host

    model = cache_dir() / "mlperf" / "vww_96_int8.tflite"
    if not model.is_file():
        pytest.skip(f"no MLPerf Tiny VWW model at {model}")
    decisions = plan(model)
    assert decisions[0].kernel is None and "CONV_2D 3x3 stride 2" in decisions[0].reason
    sources_text = "".join(_layer_source(d, d.layer.index)[0] for d in decisions if d.kernel)
    modes = {int(m) for m in re.findall(r"(?:conv1x1|depthwise3x3)<\d+, (\d+)>", sources_text)}
    for mode in (WIDE, SEPARATE_OFFSET, WIDE_ROUNDING):
        assert any(m & mode for m in modes), mode
    checks = check_on_host(model, _reference_tree(), tmp_path, trials=6)
    assert len(checks) == sum(1 for d in decisions if d.kernel) == 26
    assert all((c.mismatches, c.quant_mismatches) == (0, 0) for c in checks), checks


@pytest.mark.slow
def test_host_check_detects_a_wrong_kernel(upstream_model, tmp_path):
    from vwwdeploy.testing.kernel_host_check import build_and_run, check_on_host

    tree = _reference_tree()
    check_on_host(upstream_model, tree, tmp_path, trials=5)
    src = tmp_path / "vww_generated_kernels.cc"
    text = src.read_text()
    # op 9's input zero point off by one: its folded bias and its padding go wrong, nothing else
    shape = re.search(r"const DepthwiseShape kS9 = \{((?:-?\d+, ){7})(-?\d+),", text)
    wrong = f"const DepthwiseShape kS9 = {{{shape[1]}{int(shape[2]) + 1},"
    src.write_text(text[: shape.start()] + wrong + text[shape.end() :])
    checks = {c.op_index: c for c in build_and_run(tmp_path, tree, trials=5)}
    assert checks[9].mismatches > 0
    assert all(c.mismatches == 0 for i, c in checks.items() if i != 9)


def test_one_kernel_instance_per_depth_and_mode_and_no_per_channel_tables(upstream_model):
    # Flash (issue 19): per-layer instances and per-channel tables were what the generated image had over
    # CMSIS-NN's; the layers now share instances and only the first layer keeps copies (9 x 8 weights).
    text = sources(upstream_model)[0]["vww_generated_kernels.cc"]
    conv = set(re.findall(r"conv1x1<\d+, \d+>", text))
    depthwise = set(re.findall(r"depthwise3x3<\d+, \d+>", text))
    assert len(re.findall(r"conv1x1<", text)) == 14 and len(conv) == 7
    assert len(re.findall(r"depthwise3x3<", text)) == 13 and len(depthwise) == 6
    arrays = re.findall(r"const int32_t (k\w+)\[\]", text)
    assert arrays == ["kW0", "kB0"]
