"""The device's image pipeline (docs/protocol.md section 5): 324x244 sensor frame -> H x W x C model input.

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


MIN_SIDE = 32
MAX_SIDE = 160
CROP_LONG = 192  # the crop window's longer side, in sensor pixels (section 5)


def supports_shape(height: int, width: int, channels: int) -> bool:
    """Whether the camera path can produce a height x width x channels model input."""
    return MIN_SIDE <= height <= MAX_SIDE and MIN_SIDE <= width <= MAX_SIDE and channels in (1, 3)


def crop_window(height: int, width: int) -> tuple[int, int, int, int]:
    """(x0, y0, cw, ch): the centred sensor window of aspect width:height whose longer side is 192."""
    m = max(height, width)
    cw, ch = CROP_LONG * width // m, CROP_LONG * height // m
    return (RAW_WIDTH - cw) // 2, (RAW_HEIGHT - ch) // 2, cw, ch


def _edges(out: int, span: int) -> np.ndarray:
    """Box edges: output pixel i covers window pixels [edges[i], edges[i + 1])."""
    return np.arange(out + 1, dtype=np.int64) * span // out


def resample(raw: np.ndarray, height: int, width: int, mode: int = 0) -> np.ndarray:
    """The uint8 [height, width] grey frame of pipeline mode 0 (first pixel of each box) or 1 (box mean)."""
    raw = _check_raw(raw)
    if not supports_shape(height, width, 1):
        raise ValueError(f"the camera path makes {MIN_SIDE}..{MAX_SIDE} pixels a side, not {height}x{width}")
    x0, y0, cw, ch = crop_window(height, width)
    win = raw[y0 : y0 + ch, x0 : x0 + cw].astype(np.int64)
    ye, xe = _edges(height, ch), _edges(width, cw)
    if int(mode) != 1:
        return np.ascontiguousarray(win[ye[:-1]][:, xe[:-1]].astype(np.uint8))
    # Integral image: every box sum from four lookups, exactly.
    sat = np.zeros((ch + 1, cw + 1), dtype=np.int64)
    sat[1:, 1:] = win.cumsum(0).cumsum(1)
    total = sat[ye[1:]][:, xe[1:]] - sat[ye[:-1]][:, xe[1:]] - sat[ye[1:]][:, xe[:-1]] + sat[ye[:-1]][:, xe[:-1]]
    n = np.diff(ye)[:, None] * np.diff(xe)[None, :]
    return ((total + n // 2) // n).astype(np.uint8)


def input_table(scale: float | None, zero_point: int | None) -> np.ndarray:
    """The 256-entry pixel -> int8 table of a model's input quantization (section 5).

    floor(x + 0.5) on x = float / scale, the reciprocal scale held to 17 fractional bits, so a float32
    scale of 2/255 (zero point -1) or 1/255 (zero point -128) gives exactly pixel - 128. No scale: pixel - 128.
    """
    pixels = np.arange(256, dtype=np.int64)
    if not scale or zero_point is None:
        return pixel_to_int8(pixels)
    mult = min(int(np.floor(2.0**17 / (255.0 * float(np.float32(scale))) + 0.5)), 2**31 - 1)
    n = 2 * pixels - 255 if int(zero_point) > -64 else pixels
    q = ((n * mult + 2**16) >> 17) + int(zero_point)
    return np.clip(q, -128, 127).astype(np.int8)


def camera_input(
    raw: np.ndarray,
    height: int = OUT,
    width: int = OUT,
    channels: int = 1,
    scale: float | None = None,
    zero_point: int | None = None,
    mode: int = 0,
) -> np.ndarray:
    """A sensor frame -> the int8 [height, width, channels] model input, the grey value in every channel."""
    if channels not in (1, 3):
        raise ValueError(f"the camera path makes 1 or 3 channels, not {channels}")
    grey = resample(raw, height, width, mode)
    q = input_table(scale, zero_point)[grey]
    return np.ascontiguousarray(np.repeat(q[:, :, None], channels, axis=2))


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
