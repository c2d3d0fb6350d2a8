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


def test_quantize_rounds_half_away_from_zero():
    assert ic.quantize(np.array([0.5, -0.5, 1.5, -1.5]), 1.0, 0).tolist() == [1, -1, 2, -2]
