"""The SparkFun Edge's memory, what our firmware itself takes of it, and the arena margin.

Numbers (see docs/model-tools.md for the reasoning):
- Flash 983,040 B and SRAM 393,216 B: what PlatformIO's SparkFun Edge board file gives applications
  (1 MB flash less the 64 KB kept for the bootloader; 384 KB SRAM).
- Firmware flash budget 150 KiB: TFLM's interpreter and the few reference kernels a CNN uses, the
  Apollo3 HAL/BSP, the camera driver and the UART protocol, with headroom.
- Firmware RAM budget 112 KiB: the 324x244 camera frame buffer (79,056 B), 16 KiB of stack, and
  about 19 KiB for UART/protocol buffers, HAL and C library data, and TFLM's interpreter object.
  The model's input tensor lives in the arena, so it is not counted here.
"""

from __future__ import annotations

import math
import re

from vwwdeploy.errors import UserError
from vwwdeploy.link.protocol.pipeline import RAW_HEIGHT, RAW_WIDTH

BOARD_NAME = "SparkFun Edge"
FLASH_BYTES = 983_040
RAM_BYTES = 393_216
CAMERA_FRAME_BYTES = RAW_HEIGHT * RAW_WIDTH
FIRMWARE_FLASH_BUDGET = 150 * 1024
FIRMWARE_RAM_BUDGET = 112 * 1024

# The arena is measured by the tflite-micro runtime on the x86-64 host. The device build needs a bit
# less for bookkeeping (32-bit pointers) but may need more for scratch buffers when optimised kernels
# (CMSIS-NN) replace the reference ones, and its TFLM commit may differ from the pip runtime's.
DEFAULT_MARGIN_PERCENT = 10.0
DEFAULT_MARGIN_MIN_BYTES = 4096
ARENA_ALIGN = 16

DEFAULT_MARGIN_SPEC = f"{DEFAULT_MARGIN_PERCENT:g}%"


def parse_margin(spec: str | int | None) -> tuple[float, int]:
    """'10%' -> (10.0, floor 4096 when default); '8192' -> (0, 8192). Returns (percent, min_bytes)."""
    if spec is None:
        return DEFAULT_MARGIN_PERCENT, DEFAULT_MARGIN_MIN_BYTES
    if isinstance(spec, int):
        if spec < 0:
            raise UserError(f"--arena-margin must not be negative, got {spec}")
        return 0.0, spec
    text = str(spec).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%", text)
    if m:
        pct = float(m.group(1))
        if pct > 400:
            raise UserError(f"--arena-margin {text} is implausibly large (at most 400%)")
        return pct, 0
    if re.fullmatch(r"\d+", text):
        return 0.0, int(text)
    raise UserError(f"--arena-margin must be a percentage like 10% or a byte count like 8192, got {spec!r}")


def arena_size(measured: int, margin: str | int | None = None) -> tuple[int, int]:
    """(margin bytes, arena size) for a measured arena: measured + margin, rounded up to 16."""
    pct, floor = parse_margin(margin)
    extra = max(math.ceil(measured * pct / 100.0), floor)
    size = -(-(measured + extra) // ARENA_ALIGN) * ARENA_ALIGN
    return size - measured, size


def check_budget(name: str, value: int | None, total: int) -> int:
    if value is None:
        raise UserError(f"{name} is required")
    if not 0 <= value < total:
        raise UserError(f"{name} must be between 0 and {total - 1} bytes, got {value}")
    return value
