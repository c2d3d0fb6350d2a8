"""The simulated board's hardware for SELFTEST: a healthy HM01B0 and Apollo3, or one with injected faults.

Each fault makes the check a real board with that fault fails, with the figures it would measure, so
every failure line of `vwwdeploy doctor` can be exercised without hardware (docs/device-link.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vwwdeploy.errors import UserError
from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol.pipeline import RAW_SHAPE

CAMERA_FAULTS = ("no-sensor", "stuck-bit:N", "stuck-high:N", "swap-bits:A:B", "no-vsync", "short-lines", "dark")
BOARD_FAULTS = ("slow-clock", "stack-overflow", "model-mismatch")

SIM_CLOCK_HZ = 48_000_000  # the Edge's core clock without burst mode, which the self-test simulates
SIM_FPS_MILLI = 5_000  # the vendor script's 5 frames/s
SIM_STACK_RESERVED = 16_384
SIM_STACK_USED = 3_112
SIM_AE_FRAMES = 6  # frames the simulated auto-exposure needs to converge
AE_MAX_FRAMES = 30  # the bounded wait
WALKING_ONES_FRAMES = 2
EXPOSURE_TARGET, EXPOSURE_TOLERANCE = 128, 96
_H, _W = RAW_SHAPE


@dataclass(frozen=True)
class HardwareFaults:
    """Faults of the simulated sensor and board; parsed from `--camera-fault` / `--board-fault`."""

    no_sensor: bool = False
    stuck_low: frozenset[int] = frozenset()
    stuck_high: frozenset[int] = frozenset()
    swapped: tuple[tuple[int, int], ...] = ()
    no_vsync: bool = False
    short_lines: bool = False
    dark: bool = False
    slow_clock: bool = False
    stack_overflow: bool = False
    model_mismatch: bool = False

    @classmethod
    def parse(cls, camera: list[str] | None = None, board: list[str] | None = None) -> "HardwareFaults":
        kw: dict = {"stuck_low": set(), "stuck_high": set(), "swapped": []}
        for text in camera or []:
            name, _, arg = text.strip().partition(":")
            if name in ("stuck-bit", "stuck-low", "stuck-high"):
                bit = _bit(arg, text)
                kw["stuck_high" if name == "stuck-high" else "stuck_low"].add(bit)
            elif name == "swap-bits":
                a, _, b = arg.partition(":")
                kw["swapped"].append((_bit(a, text), _bit(b, text)))
            elif name in ("no-sensor", "no-vsync", "short-lines", "dark") and not arg:
                kw[name.replace("-", "_")] = True
            else:
                raise UserError(f"unknown --camera-fault {text!r}; one of {', '.join(CAMERA_FAULTS)}")
        for text in board or []:
            name = text.strip()
            if name not in BOARD_FAULTS:
                raise UserError(f"unknown --board-fault {text!r}; one of {', '.join(BOARD_FAULTS)}")
            kw[name.replace("-", "_")] = True
        kw["stuck_low"], kw["stuck_high"] = frozenset(kw["stuck_low"]), frozenset(kw["stuck_high"])
        kw["swapped"] = tuple(kw["swapped"])
        return cls(**kw)

    @property
    def any(self) -> bool:
        return self != HardwareFaults()

    def describe(self) -> str:
        parts = [f"stuck-low D{b}" for b in sorted(self.stuck_low)]
        parts += [f"stuck-high D{b}" for b in sorted(self.stuck_high)]
        parts += [f"D{a}<->D{b}" for a, b in self.swapped]
        for flag in ("no_sensor", "no_vsync", "short_lines", "dark", "slow_clock", "stack_overflow", "model_mismatch"):
            if getattr(self, flag):
                parts.append(flag.replace("_", "-"))
        return ", ".join(parts) or "none"


def _bit(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 7:
        raise UserError(f"--camera-fault {whole!r}: a data line is 0..7")
    return int(text)


def walking_ones_pattern() -> np.ndarray:
    """The expected test-pattern frame: the vendor's walking ones along each line, 0x01, 0x02 .. 0x80 then 0x00
    (a period of 9 pixels, as the HM01B0 sends it and the Edge's probe_logic.cc expects)."""
    x = np.arange(_W) % 9
    row = np.where(x < 8, 1 << np.minimum(x, 7), 0).astype(np.uint8)
    return np.broadcast_to(row, (_H, _W)).copy()


def wire(frame: np.ndarray, faults: HardwareFaults) -> np.ndarray:
    """What the MCU reads over D0..D7 when the sensor drives `frame`."""
    out = frame.copy()
    for a, b in faults.swapped:
        bit_a, bit_b = (frame >> a) & 1, (frame >> b) & 1
        out &= np.uint8(~((1 << a) | (1 << b)) & 0xFF)
        out |= (bit_a << b).astype(np.uint8) | (bit_b << a).astype(np.uint8)
    for b in faults.stuck_low:
        out &= np.uint8(~(1 << b) & 0xFF)
    for b in faults.stuck_high:
        out |= np.uint8(1 << b)
    return out


def camera_checks(faults: HardwareFaults, scene_mean: float, fitted: bool = True) -> list[m.Check]:
    """Checks 0x01..0x31 as the sim's probes measure them (docs/protocol.md, "Self-test"); all not applicable
    on a board built without a camera."""
    C, R = m.CheckId, m.CheckRule
    J = m.Check.judged
    if not fitted:
        N = m.Check.not_applicable
        return [
            N(C.SENSOR_ID, R.EQUAL, m.SENSOR_MODEL_ID),
            N(C.PATTERN_PIXELS, R.AT_LEAST, m.RAW_FRAME_PIXELS),
            *(N(C.DATA_D0 + k, R.EQUAL, 0) for k in range(8)),
            N(C.FRAME_RATE, R.AT_LEAST, 1000),
            N(C.PIXELS_PER_LINE, R.EQUAL, _W),
            N(C.LINES_PER_FRAME, R.EQUAL, _H),
            N(C.EXPOSURE_CONVERGED, R.EQUAL, 1),
            N(C.EXPOSURE_MEAN, R.WITHIN, EXPOSURE_TARGET, EXPOSURE_TOLERANCE),
        ]
    # No frame ever arrives: every frame probe fails with measured 0.
    no_frames = [
        J(C.PATTERN_PIXELS, R.AT_LEAST, 0, m.RAW_FRAME_PIXELS),
        *(m.Check(C.DATA_D0 + k, m.CheckStatus.FAIL, R.EQUAL, 0, 0) for k in range(8)),
        J(C.FRAME_RATE, R.AT_LEAST, 0, 1000),
        J(C.PIXELS_PER_LINE, R.EQUAL, 0, _W),
        J(C.LINES_PER_FRAME, R.EQUAL, 0, _H),
        J(C.EXPOSURE_CONVERGED, R.EQUAL, 0, 1),
        J(C.EXPOSURE_MEAN, R.WITHIN, 0, EXPOSURE_TARGET, EXPOSURE_TOLERANCE),
    ]
    if faults.no_sensor:  # no I2C answer either: the sensor ID reads 0
        return [J(C.SENSOR_ID, R.EQUAL, 0, m.SENSOR_MODEL_ID), *no_frames]
    checks = [J(C.SENSOR_ID, R.EQUAL, m.SENSOR_MODEL_ID, m.SENSOR_MODEL_ID)]
    if faults.no_vsync:  # the sensor answers on I2C but no frame ever starts
        return checks + no_frames
    expected = walking_ones_pattern()
    read = wire(expected, faults)
    diff = expected ^ read
    mismatches = [WALKING_ONES_FRAMES * int(((diff >> k) & 1).sum()) for k in range(8)]
    pixels = WALKING_ONES_FRAMES * expected.size
    ppl = _W - 4 if faults.short_lines else _W  # HSYNC dropping early: fewer pixels clocked per line
    checks += [
        J(C.PATTERN_PIXELS, R.AT_LEAST, pixels, m.RAW_FRAME_PIXELS),
        *(J(C.DATA_D0 + k, R.EQUAL, mismatches[k], 0) for k in range(8)),
        J(C.FRAME_RATE, R.AT_LEAST, SIM_FPS_MILLI, 1000),
        J(C.PIXELS_PER_LINE, R.EQUAL, ppl, _W),
        J(C.LINES_PER_FRAME, R.EQUAL, _H, _H),
    ]
    mean = 6 if faults.dark else int(round(scene_mean))
    converged = not faults.dark  # AE at its longest exposure and still below target: the wait gives up
    checks += [
        J(C.EXPOSURE_CONVERGED, R.EQUAL, int(converged), 1),
        J(C.EXPOSURE_MEAN, R.WITHIN, mean, EXPOSURE_TARGET, EXPOSURE_TOLERANCE),
    ]
    return checks


def board_checks(faults: HardwareFaults, arena_used: int, arena_size: int, model_mismatches: int | None) -> list:
    """Checks 0x40..0x60; `model_mismatches` None = the board carries no built-in vector."""
    C, R = m.CheckId, m.CheckRule
    J = m.Check.judged
    clock = SIM_CLOCK_HZ // 2 if faults.slow_clock else SIM_CLOCK_HZ - 1_280
    stack = SIM_STACK_RESERVED if faults.stack_overflow else SIM_STACK_USED
    checks = [
        J(C.CORE_CLOCK, R.WITHIN, clock, SIM_CLOCK_HZ, SIM_CLOCK_HZ // 50),
        J(C.ARENA, R.AT_MOST, arena_used, arena_size),
        J(C.STACK, R.AT_MOST, stack, SIM_STACK_RESERVED - m.STACK_HEADROOM),
        m.Check.not_applicable(C.HEAP, R.AT_MOST, 0),
    ]
    if model_mismatches is None:
        checks.append(m.Check.not_applicable(C.MODEL_OUTPUT, R.EQUAL, 0))
    else:
        checks.append(J(C.MODEL_OUTPUT, R.EQUAL, model_mismatches, 0))
    return checks
