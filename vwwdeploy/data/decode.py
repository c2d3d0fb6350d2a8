"""Decode one image file to a uint8 SxS array, fast, and say what happened to it.

JPEG draft mode lets libjpeg scale by 1/2, 1/4 or 1/8 inside the inverse DCT, and decode straight to luma for
grayscale, so a 640x480 COCO photo is never expanded to full size just to be shrunk. The draft size is the
target SxS, and libjpeg only picks a scale that keeps both sides >= S, so the final resize still only shrinks.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from PIL import Image

# Outcomes, counted in the build report.
OK = "ok"
MISSING = "missing"
CORRUPT = "corrupt"
TRUNCATED = "truncated"
CMYK = "cmyk"  # converted: CMYK -> RGB (Pillow inverts Adobe CMYK JPEGs), then to the target mode
SIXTEEN_BIT = "16bit"  # converted: 16-bit samples scaled to 8-bit (x * 255 / 65535, rounded)
OTHER_MODE = "other_mode"  # converted: palette, gray+alpha, RGBA, gray-to-RGB and the like

SKIPPED = (MISSING, CORRUPT, TRUNCATED)


def outcome_report(counts) -> dict[str, int]:
    """The build report's skipped/converted fields from a count per outcome (every builder writes the same names)."""
    return {
        "skipped_missing": counts[MISSING],
        "skipped_corrupt": counts[CORRUPT],
        "skipped_truncated": counts[TRUNCATED],
        "converted_cmyk_to_rgb": counts[CMYK],
        "converted_16bit_to_8bit": counts[SIXTEEN_BIT],
        "converted_other_mode": counts[OTHER_MODE],
    }


def _sixteen_to_eight(im: Image.Image) -> Image.Image:
    arr = np.asarray(im).astype(np.uint32)
    if im.mode == "I" and arr.max(initial=0) <= 255:
        return Image.fromarray(arr.astype(np.uint8), "L")  # an "I" image that only holds 8-bit values
    arr = np.clip(arr, 0, 65535)
    return Image.fromarray(((arr * 255 + 32767) // 65535).astype(np.uint8), "L")


def decode_image(path: str, size: int, rgb: bool = False) -> tuple[np.ndarray | None, str]:
    """(uint8 [S,S] or [S,S,3], outcome) on success; (None, MISSING/CORRUPT/TRUNCATED) when skipped."""
    target = "RGB" if rgb else "L"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                outcome = OK
                if im.format == "JPEG":
                    im.draft(target, (size, size))
                im.load()
                if im.mode == "CMYK":
                    outcome = CMYK
                    im = im.convert("RGB")
                elif im.mode.startswith("I;16") or im.mode == "I":
                    outcome = SIXTEEN_BIT
                    im = _sixteen_to_eight(im)
                if im.mode != target:
                    if outcome == OK and not (im.mode == "RGB" and target == "L"):
                        outcome = OTHER_MODE
                    im = im.convert(target)
                # reducing_gap: shrink by an integer box filter first, then bilinear for the rest (fast, no aliasing).
                im = im.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
                arr = np.asarray(im, dtype=np.uint8)
    except FileNotFoundError:
        return None, MISSING
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return None, TRUNCATED if "truncated" in str(exc) else CORRUPT
    return arr, outcome


def decode_chunk(task: tuple[list[tuple[int, str]], int, bool]):
    """Worker entry: decode a chunk; returns (rows kept, their images stacked, (row, outcome) for every row,
    CPU seconds spent), the last for the build report (it shows how busy the decoders were)."""
    cpu0 = time.process_time()
    items, size, rgb = task
    kept_rows, arrays, outcomes = [], [], []
    for row, path in items:
        arr, outcome = decode_image(path, size, rgb)
        outcomes.append((row, outcome))
        if arr is not None:
            kept_rows.append(row)
            arrays.append(arr)
    shape = (size, size, 3) if rgb else (size, size)
    stacked = np.stack(arrays) if arrays else np.empty((0, *shape), np.uint8)
    return kept_rows, stacked, outcomes, time.process_time() - cpu0
