"""How a camera pixel becomes the model's input: the one place inspect, export, evaluation and validation ask.

The board feeds an int8 model `pixel - 128` (docs/protocol.md section 5), with no arithmetic per pixel. A
model takes that input correctly when its own quantization of the float it was trained on gives the same
int8 for every pixel. Models are trained on one of two float conventions: [-1, 1] (`pixel / 127.5 - 1`,
this project's and the TFLM person detector's: scale 2/255, zero point -1) or [0, 1] (`pixel / 255`,
e.g. scale 1/255, zero point -128). So the test compares the pixel-to-int8 mappings over all 256 pixels,
not the scale and zero point with some tolerance.
"""

from __future__ import annotations

import numpy as np

CAMERA_MAPPING = "int8 = pixel - 128"
# Float conventions a model may have been trained on: name -> float of pixels 0..255.
FLOAT_CONVENTIONS = {
    "pixel / 127.5 - 1": lambda p: p / 127.5 - 1.0,
    "pixel / 255": lambda p: p / 255.0,
}
# Converters calibrate the input range from data: a scale 1e-4 off 2/255 (seen in `vwwdeploy export`
# output) moves the float of pixel 0 by 0.013 step. 0.02 step absorbs that, not a real mismatch.
SLACK_STEPS = 0.02

_PIXELS = np.arange(256, dtype=np.float64)


def pixel_to_int8(pixels) -> np.ndarray:
    """uint8 pixels -> the int8 the board feeds the model: pixel - 128."""
    return (np.asarray(pixels, dtype=np.uint8).astype(np.int16) - 128).astype(np.int8)


def int8_to_pixel(x) -> np.ndarray:
    """The inverse of `pixel_to_int8`."""
    return (np.asarray(x, dtype=np.int8).astype(np.int16) + 128).astype(np.uint8)


def pixel_to_float(pixels) -> np.ndarray:
    """uint8 pixels -> this project's float input, in [-1, 1] (training, the float model)."""
    return np.asarray(pixels, dtype=np.float32) / 127.5 - 1.0


def quantize(values, scale: float, zero_point: int, dtype=np.int8) -> np.ndarray:
    """Float -> a tensor's integers with its scale and zero point, by the one rounding rule of this project.

    The rule is the firmware's: half up, floor(x + 0.5). For the camera convention ([-1, 1], scale 2/255, zero
    point -1) pixel p sits exactly between two steps (p - 127.5) and half up gives p - 128, what the board feeds;
    half to even or half away from zero would not. The steps are first rounded to 1e-4 so that float32 noise
    (a float32 scale and input are up to ~1e-5 step off) cannot move a tie to either side.
    """
    steps = np.round(np.asarray(values, dtype=np.float64) / float(scale), 4)
    info = np.iinfo(np.dtype(dtype))
    return np.clip(np.floor(steps + 0.5) + zero_point, info.min, info.max).astype(dtype)


def camera_convention(scale: float | None, zero_point: int | None) -> str | None:
    """The float convention of which `pixel - 128` is the model's own int8 rounding, for every pixel; or None.

    `pixel - 128` is a correct rounding of a float v when it dequantizes to within half a step of v (plus
    SLACK_STEPS). Where v falls exactly between two steps, as for [-1, 1] at scale 2/255, either neighbour is.
    """
    if not scale or zero_point is None:
        return None
    seen = (pixel_to_int8(_PIXELS).astype(np.float64) - zero_point) * scale
    for name, to_float in FLOAT_CONVENTIONS.items():
        if float(np.abs(seen - to_float(_PIXELS)).max()) <= scale * (0.5 + SLACK_STEPS):
            return name
    return None


def takes_camera_input(scale: float | None, zero_point: int | None) -> bool:
    return camera_convention(scale, zero_point) is not None


def mismatch(scale: float | None, zero_point: int | None) -> str:
    """The sentence every command prints for a model that does not take pixel - 128."""
    shown = "none" if scale is None else format(scale, ".6g")
    return (
        f"the model's input quantization (scale {shown}, zero point {zero_point}) does not turn a camera "
        f"pixel into {CAMERA_MAPPING} under {' or '.join(FLOAT_CONVENTIONS)}: the board's input would not "
        "be what the model was trained on"
    )
