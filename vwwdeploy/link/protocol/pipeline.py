"""The device's image pipeline (docs/protocol.md section 5): 324x244 sensor frame -> 96x96 model input.

Integer-only so the firmware reproduces it bit for bit; golden vectors in tests/vectors/pipeline/.
"""

from __future__ import annotations

import numpy as np

from vwwdeploy.data.input_convention import int8_to_pixel, pixel_to_int8

RAW_WIDTH = 324
RAW_HEIGHT = 244
RAW_SHAPE = (RAW_HEIGHT, RAW_WIDTH)
CROP = 192
OUT = 96
X0 = (RAW_WIDTH - CROP) // 2  # 66
Y0 = (RAW_HEIGHT - CROP) // 2  # 26


def _check_raw(raw: np.ndarray) -> np.ndarray:
    raw = np.asarray(raw)
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[:, :, 0]
    if raw.shape != RAW_SHAPE or raw.dtype != np.uint8:
        raise ValueError(f"raw frame must be uint8 {RAW_HEIGHT}x{RAW_WIDTH}, got {raw.dtype} {raw.shape}")
    return raw


def crop_decimate(raw: np.ndarray) -> np.ndarray:
    """Mode 0 (upstream's): every second pixel of the centre 192x192 window -> uint8 [96, 96]."""
    raw = _check_raw(raw)
    return np.ascontiguousarray(raw[Y0 : Y0 + CROP : 2, X0 : X0 + CROP : 2])


def crop_box_average(raw: np.ndarray) -> np.ndarray:
    """Mode 1: mean of each 2x2 block of the centre window, rounded half up -> uint8 [96, 96]."""
    raw = _check_raw(raw)
    win = raw[Y0 : Y0 + CROP, X0 : X0 + CROP].astype(np.uint16)
    total = win[0::2, 0::2] + win[0::2, 1::2] + win[1::2, 0::2] + win[1::2, 1::2]
    return ((total + 2) >> 2).astype(np.uint8)


def apply_pipeline(raw: np.ndarray, mode: int = 0) -> np.ndarray:
    """The 96x96 uint8 frame for pipeline mode 0 (decimate) or 1 (box-average)."""
    return crop_box_average(raw) if int(mode) == 1 else crop_decimate(raw)


def to_model_input(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels -> int8 model input (pixel - 128), the model's own quantization of pixel/127.5 - 1."""
    return pixel_to_int8(pixels)


def from_model_input(x: np.ndarray) -> np.ndarray:
    """int8 model input -> uint8 pixels (the inverse of `to_model_input`)."""
    return int8_to_pixel(x)


def test_pattern() -> np.ndarray:
    """The built-in frame of a board without camera: raw[y][x] = (x + 2*y) & 0xFF."""
    y, x = np.mgrid[0:RAW_HEIGHT, 0:RAW_WIDTH]
    return ((x + 2 * y) & 0xFF).astype(np.uint8)


test_pattern.__test__ = False  # not a pytest test despite its name


def frame_from_image(image) -> np.ndarray:
    """Any picture (PIL image or array, gray or colour) -> a 324x244 uint8 sensor frame.

    Grayscale, resized so it covers 324x244 with its aspect kept, then centre-cropped: what the
    HM01B0 would see of the scene.
    """
    from PIL import Image as PILImage

    if not isinstance(image, PILImage.Image):
        arr = np.asarray(image)
        if arr.dtype != np.uint8:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        image = PILImage.fromarray(arr)
    gray = image.convert("L")
    w, h = gray.size
    scale = max(RAW_WIDTH / w, RAW_HEIGHT / h)
    nw, nh = max(RAW_WIDTH, round(w * scale)), max(RAW_HEIGHT, round(h * scale))
    resized = gray.resize((nw, nh), PILImage.BILINEAR)
    left, top = (nw - RAW_WIDTH) // 2, (nh - RAW_HEIGHT) // 2
    return np.asarray(resized.crop((left, top, left + RAW_WIDTH, top + RAW_HEIGHT)), dtype=np.uint8).copy()
