"""The one input convention: which models take the camera's pixel - 128 (vwwdeploy/data/input_convention.py)."""

from __future__ import annotations

import numpy as np
import pytest

from vwwdeploy.data import input_convention as ic


@pytest.mark.parametrize(
    "scale,zero_point,convention",
    [
        (2 / 255, -1, "pixel / 127.5 - 1"),  # vwwdeploy export
        (0.0078431377, -1, "pixel / 127.5 - 1"),  # the upstream person detector (float32 of 2/255)
        (1 / 255, -128, "pixel / 255"),  # int8 = pixel - 128 exactly
        (0.003921568859368563, -128, "pixel / 255"),  # the same in float32
    ],
)
def test_models_that_take_pixel_minus_128(scale, zero_point, convention):
    assert ic.camera_convention(scale, zero_point) == convention
    assert ic.takes_camera_input(scale, zero_point)


@pytest.mark.parametrize(
    "scale,zero_point",
    [(1 / 255, 0), (2 / 255, -10), (1 / 128, -1), (0.00784, -1), (None, -1), (2 / 255, None), (0.0, 0)],
)
def test_models_that_do_not(scale, zero_point):
    assert ic.camera_convention(scale, zero_point) is None
    assert "pixel - 128" in ic.mismatch(scale, zero_point)


def test_pixel_to_int8_and_back():
    pixels = np.arange(256, dtype=np.uint8)
    x = ic.pixel_to_int8(pixels)
    assert x.dtype == np.int8 and x[0] == -128 and x[255] == 127 and x[128] == 0
    assert np.array_equal(ic.int8_to_pixel(x), pixels)
    assert ic.pixel_to_float(pixels)[[0, 255]].tolist() == [-1.0, 1.0]


def test_quantize_rounds_half_up_as_the_firmware():
    assert ic.quantize(np.array([0.5, -0.5, 1.5, -1.5, 2.4, -2.6]), 1.0, 0).tolist() == [1, 0, 2, -1, 2, -3]
    assert ic.quantize(np.array([500.0, -500.0]), 1.0, 0).tolist() == [127, -128]


@pytest.mark.parametrize("scale", [2 / 255, float(np.float32(2 / 255))])
@pytest.mark.parametrize("float_dtype", [np.float32, np.float64])
def test_camera_convention_gives_pixel_minus_128_for_all_256_pixels(scale, float_dtype):
    """[-1, 1] at scale 2/255, zero point -1: every pixel is a tie (p - 127.5); half up must give p - 128."""
    pixels = np.arange(256)
    floats = pixels.astype(float_dtype) / float_dtype(127.5) - float_dtype(1.0)
    q = ic.quantize(floats, scale, -1)
    assert q.dtype == np.int8
    assert np.array_equal(q.astype(int), pixels - 128)
    assert np.array_equal(ic.quantize(ic.pixel_to_float(pixels), scale, -1), ic.pixel_to_int8(pixels))


@pytest.mark.parametrize("scale", [1 / 255, float(np.float32(1 / 255))])
def test_mlperf_convention_gives_pixel_minus_128_for_all_256_pixels(scale):
    """MLPerf Tiny's [0, 1] (pixel / 255) at scale 1/255, zero point -128."""
    pixels = np.arange(256)
    q = ic.quantize(pixels / 255.0, scale, -128)
    assert np.array_equal(q.astype(int), pixels - 128)


def test_evaluate_and_the_mlperf_dut_use_the_same_rounding():
    from vwwdeploy.apps.mlperf.dut import quantize_input as dut_quantize
    from vwwdeploy.training.evaluation import quantize_input as eval_quantize

    pixels = np.arange(256, dtype=np.uint8)
    # A model whose input is [-1, 1] at a scale that is not the camera's (no pixel - 128 shortcut): ties still up.
    got = eval_quantize(pixels.reshape(1, 16, 16, 1), {"dtype": np.int8, "quantization": (4 / 255, 0)})
    assert np.array_equal(got.ravel(), ic.quantize(ic.pixel_to_float(pixels), 4 / 255, 0))
    rgb = np.repeat(pixels, 3).tobytes()
    got = dut_quantize(rgb, (1, 16, 16, 3), 1 / 255, -128, "int8")
    assert np.array_equal(got[..., 0].ravel().astype(int), pixels.astype(int) - 128)
