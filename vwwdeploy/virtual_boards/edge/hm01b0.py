"""The HM01B0 camera as the Edge's firmware sees it: an I2C slave at 0x24 and frames driven onto its pins.

Facts (register addresses and meanings, the 324x244 window, mode-select values, the test-pattern register,
the AE statistics the driver reads) come from the vendor driver the Edge firmware compiles
(SparkFun BSP `common/third_party/hm01b0/`: HM01B0.h, HM01B0.c, HM01B0_RAW8_QVGA_8bits_lsb_5fps.h,
HM01B0_Walking1s_01.h) and /work/shared/reference/sparkfun-edge.md. Timing is counted in PCLK periods from
the script's FRAME_LENGTH_LINES (0x0340/41) and LINE_LENGTH_PCK (0x0342/43); PCLK = MCLK / divider with the
divider from OSC_CLK_DIV (0x3060). Assumptions where no source here gives the fact are listed in
docs/emulation.md ("HM01B0 model").

Scene: the sim's camera (a folder of pictures or its procedural scene) numbered by the sensor's frame
counter, so that a converged frame is exactly the sim's sensor frame of that picture and its 96x96 crop equals
the host's camera-path crop byte for byte. Faults: the sim's camera faults, applied at the pins or on I2C.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vwwdeploy.virtual_boards.sim.camera import Camera
from vwwdeploy.virtual_boards.sim.hardware import HardwareFaults, walking_ones_pattern, wire

WIDTH, HEIGHT = 324, 244
MODEL_ID = 0x01B0

REG_MODEL_ID_H, REG_MODEL_ID_L = 0x0000, 0x0001
REG_FRAME_COUNT = 0x0005
REG_MODE_SELECT = 0x0100
REG_IMAGE_ORIENTATION = 0x0101
REG_SW_RESET = 0x0103
REG_INTEGRATION_H, REG_INTEGRATION_L = 0x0202, 0x0203
REG_FRAME_LENGTH_LINES_H, REG_FRAME_LENGTH_LINES_L = 0x0340, 0x0341
REG_LINE_LENGTH_PCK_H, REG_LINE_LENGTH_PCK_L = 0x0342, 0x0343
REG_TEST_PATTERN = 0x0601
REG_AE_MEAN = 0x2020  # the statistic hm01b0_get_ae compares with the target
REG_AE_CTRL = 0x2100
REG_AE_TARGET_MEAN, REG_AE_MIN_MEAN = 0x2101, 0x2102
REG_CONVERGE_IN_TH, REG_CONVERGE_OUT_TH = 0x2103, 0x2104
REG_PMU_FRAMECNT = 0x3020
REG_OSC_CLK_DIV = 0x3060

MODE_STANDBY, MODE_STREAMING, MODE_NFRAMES, MODE_HW_TRIGGER = 0x00, 0x01, 0x03, 0x05
TEST_PATTERN_WALKING_ONES = 0x11
# The orientation the vendor script sets (0x0101 = 0x01): a picture is what the sensor sends in it.
SCRIPT_ORIENTATION = 0x01

# Reset values. Model ID from HM01B0.h; the AE defaults (target 0x3C, min 0x0A, thresholds 3 and 5) are the
# values other HM01B0 drivers program as their defaults; the vendor script leaves 0x2101..0x2103 untouched.
RESET_VALUES = {
    REG_MODEL_ID_H: MODEL_ID >> 8,
    REG_MODEL_ID_L: MODEL_ID & 0xFF,
    REG_FRAME_LENGTH_LINES_H: 0x02,
    REG_FRAME_LENGTH_LINES_L: 0x12,
    REG_LINE_LENGTH_PCK_H: 0x01,
    REG_LINE_LENGTH_PCK_L: 0x78,
    REG_INTEGRATION_H: 0x01,
    REG_INTEGRATION_L: 0x08,
    REG_AE_CTRL: 0x01,
    REG_AE_TARGET_MEAN: 0x3C,
    REG_AE_MIN_MEAN: 0x0A,
    REG_CONVERGE_IN_TH: 0x03,
    REG_CONVERGE_OUT_TH: 0x05,
    REG_PMU_FRAMECNT: 0x01,
    REG_OSC_CLK_DIV: 0x0A,
}
READ_ONLY = (REG_MODEL_ID_H, REG_MODEL_ID_L, REG_FRAME_COUNT, REG_AE_MEAN)

AE_SETTLE_FRAMES = 4  # frames with AE on before the exposure reaches its target; each one doubles the gain
DARK_MEAN = 6  # what a covered lens reads (the sim's dark fault)
# A time next_change() returned maps back onto its tick despite float rounding.
_TICK_EPS = 1e-4
SHORT_LINE_PIXELS = WIDTH - 4  # the sim's short-lines fault: HSYNC drops 4 PCLKs early


class Hm01b0Unmodelled(RuntimeError):
    """The firmware asked the sensor for something this model does not implement (stops the run)."""


@dataclass(frozen=True)
class Geometry:
    """One frame's timing in PCLK periods: line i (0-based) has HSYNC high for `pixels` periods from
    (i + 1) * line_pclk; VSYNC is high from 0 to (HEIGHT + 1) * line_pclk (it leads the first line by one
    line); the frame repeats every frame_lines * line_pclk periods."""

    line_pclk: int
    frame_lines: int
    pixels: int = WIDTH
    gated: bool = True  # OSC_CLK_DIV bit 5: PCLK toggles only while HSYNC is high

    @property
    def frame_pclk(self) -> int:
        return self.frame_lines * self.line_pclk

    @property
    def vsync_end(self) -> int:
        return (HEIGHT + 1) * self.line_pclk


def pclk_divider(osc_clk_div: int) -> int:
    """PCLK = MCLK / this. Bit 3 enables the divider, bits 1:0 pick 8, 4, 2, 1 (the encoding other drivers
    use: 0x08 | n, faster with larger n); the vendor's 5 fps script (0x20) runs PCLK at MCLK, which with the
    6 MHz MCLK the driver programs gives its 5 frames/s."""
    if not osc_clk_div & 0x08:
        return 1
    return 8 >> (osc_clk_div & 0x03)


class Hm01b0Model:
    """HM01B0 on the Edge. `clock()` returns the emulated time in seconds (I2C transactions happen "now");
    without it the model uses the latest time it was asked about through pins() or next_change()."""

    I2C_ADDRESS = 0x24

    def __init__(
        self,
        camera: Camera | None = None,
        faults: HardwareFaults | None = None,
        clock: Callable[[], float] | None = None,
        mclk_hz: float = 0.0,
    ):
        self.camera = camera or Camera()
        self.faults = faults or HardwareFaults()
        self._clock = clock
        self._last_t = 0.0
        lut = np.arange(256, dtype=np.uint8)
        self._wire_lut = wire(lut, self.faults)
        self._mclk_hz = 0.0
        # Timeline: the sensor's position in half PCLK periods ("ticks") is anchor_u + (t - anchor_t) * rate.
        self._anchor_t = 0.0
        self._anchor_u = 0.0
        self._rate = 0.0
        self._reset_registers()
        self.set_mclk_hz(mclk_hz)

    # ----- registers and I2C -----

    def _reset_registers(self) -> None:
        self.regs: dict[int, int] = dict(RESET_VALUES)
        self._pointer = 0
        self._seq: _Sequence | None = None
        self._frames_total = 0  # frames completed before the current sequence
        self._ae_steps = 0  # frames output with AE on since reset (committed)
        self._ae_mean = 0
        self._accounted = 0  # frames of the current sequence already committed
        self._frame_cache: tuple[int, np.ndarray] | None = None

    def now(self) -> float:
        return max(self._clock(), self._last_t) if self._clock is not None else self._last_t

    def i2c_write(self, data: bytes) -> bool:
        if self.faults.no_sensor:
            return False
        if len(data) < 2:
            return True  # an address probe or half a register address: ACKed, nothing written
        self._commit(self.now())
        address = (data[0] << 8) | data[1]
        self._pointer = address
        for offset, value in enumerate(data[2:]):
            self._write_register(address + offset, value)
        if len(data) > 2:
            self._pointer = address + len(data) - 2
        return True

    def i2c_read(self, n: int) -> bytes | None:
        if self.faults.no_sensor:
            return None
        self._commit(self.now())
        out = bytes(self.read_register(self._pointer + k) for k in range(n))
        self._pointer += n
        return out

    def read_register(self, address: int) -> int:
        address &= 0xFFFF
        if address == REG_FRAME_COUNT:
            return self._frames_done(self._u(self.now())) & 0xFF
        if address == REG_AE_MEAN:
            return self._ae_mean
        if address == REG_MODE_SELECT:
            return self.regs.get(REG_MODE_SELECT, MODE_STANDBY) if self._streaming(self.now()) else MODE_STANDBY
        return self.regs.get(address, 0)

    def _write_register(self, address: int, value: int) -> None:
        address &= 0xFFFF
        value &= 0xFF
        if address in READ_ONLY:
            return
        if address == REG_SW_RESET:
            self._reset_registers()
            self._retime(self.now())
            return
        if address == REG_TEST_PATTERN and value not in (0x00, TEST_PATTERN_WALKING_ONES):
            raise Hm01b0Unmodelled(f"HM01B0 test pattern 0x{value:02X} (only 0x11 walking ones is modelled)")
        self.regs[address] = value
        if address == REG_OSC_CLK_DIV:
            self._retime(self.now())
        elif address == REG_MODE_SELECT:
            self._select_mode(value)

    # ----- the frame timeline -----

    @property
    def pclk_hz(self) -> float:
        return self._mclk_hz / pclk_divider(self.regs.get(REG_OSC_CLK_DIV, 0))

    def set_mclk_hz(self, hz: float) -> None:
        self._retime(self.now(), max(0.0, float(hz)))

    def _retime(self, t: float, mclk_hz: float | None = None) -> None:
        self._anchor_u = self._u(t)
        self._anchor_t = t
        if mclk_hz is not None:
            self._mclk_hz = mclk_hz
        self._rate = 2.0 * self.pclk_hz

    def _u(self, t: float) -> float:
        return self._anchor_u + max(0.0, t - self._anchor_t) * self._rate

    def _t(self, u: float) -> float:
        if self._rate <= 0:
            return math.inf
        return self._anchor_t + (u - self._anchor_u) / self._rate

    def geometry(self) -> Geometry:
        r = self.regs
        lines = (r.get(REG_FRAME_LENGTH_LINES_H, 0) << 8) | r.get(REG_FRAME_LENGTH_LINES_L, 0)
        line = (r.get(REG_LINE_LENGTH_PCK_H, 0) << 8) | r.get(REG_LINE_LENGTH_PCK_L, 0)
        pixels = SHORT_LINE_PIXELS if self.faults.short_lines else WIDTH
        # A line or frame shorter than the window cannot be sent: the sensor stretches it.
        line = max(line, WIDTH + 1)
        lines = max(lines, HEIGHT + 2)
        return Geometry(line, lines, pixels, bool(r.get(REG_OSC_CLK_DIV, 0) & 0x20))

    def _select_mode(self, mode: int) -> None:
        t = self.now()
        u = self._u(t)
        if mode == MODE_STANDBY:
            if self._seq is not None:
                self._seq.stop_u = min(self._seq.stop_u, u)
            return
        if mode == MODE_HW_TRIGGER:
            raise Hm01b0Unmodelled("HM01B0 hardware-trigger streaming (MODE_SELECT 0x05) is not modelled")
        if mode not in (MODE_STREAMING, MODE_NFRAMES):
            raise Hm01b0Unmodelled(f"HM01B0 MODE_SELECT 0x{mode:02X}")
        start = u
        seq = self._seq
        if seq is not None and seq.start_u <= u < seq.stop_u:
            # A frame being sent is finished before the new request starts.
            k = int((u - seq.start_u) // seq.frame_ticks)
            start = min(seq.stop_u, seq.start_u + (k + 1) * seq.frame_ticks)
        self._commit(t, final_u=start)
        count = self.regs.get(REG_PMU_FRAMECNT, 1) if mode == MODE_NFRAMES else None
        geom = self.geometry()
        frame_ticks = 2 * geom.frame_pclk
        stop = start + count * frame_ticks if count is not None else math.inf
        self._seq = _Sequence(start, stop, geom, frame_ticks, self._frames_total)
        self._accounted = 0

    def _streaming(self, t: float) -> bool:
        seq = self._seq
        return seq is not None and self._u(t) < seq.stop_u

    def _frames_in_seq(self, u: float) -> int:
        """Frames of the current sequence whose active part (VSYNC high) ended by position u."""
        seq = self._seq
        if seq is None or u < seq.start_u:
            return 0
        end = min(u, seq.stop_u)
        done = int((end - seq.start_u) // seq.frame_ticks)
        rest = end - seq.start_u - done * seq.frame_ticks
        if rest >= 2 * seq.geom.vsync_end:
            done += 1
        return done

    def _frames_done(self, u: float) -> int:
        return self._frames_total + self._frames_in_seq(u)

    def _commit(self, t: float, final_u: float | None = None) -> None:
        """Books the frames completed by time t (or by final_u, when the sequence is being cut there):
        the frame counter and the auto-exposure loop."""
        seq = self._seq
        if seq is None:
            return
        u = self._u(t) if final_u is None else final_u
        done = self._frames_in_seq(u)
        if done > self._accounted:
            last = done - 1
            self._ae_mean = self._frame_ae_mean(last)
            if self.regs.get(REG_AE_CTRL, 0) & 0x01:
                self._ae_steps += done - self._accounted
            self._accounted = done
        if final_u is not None:
            self._frames_total += done
            self._seq = None

    # ----- what each frame carries -----

    def _gain(self, k: int) -> float:
        """Exposure gain of frame k of the current sequence: 1 once AE has settled."""
        steps = self._ae_steps
        if self.regs.get(REG_AE_CTRL, 0) & 0x01:
            steps += max(0, k - self._accounted)
        return 1.0 if steps >= AE_SETTLE_FRAMES else 2.0 ** (steps - AE_SETTLE_FRAMES)

    def _frame_ae_mean(self, k: int) -> int:
        if self.faults.dark:
            return DARK_MEAN
        target = self.regs.get(REG_AE_TARGET_MEAN, 0)
        return min(255, int(round(target * self._gain(k))))

    def frame_pixels(self, k: int) -> np.ndarray:
        """The 244x324 bytes frame k of the current sequence puts on D0..D7 (after any data-line fault)."""
        seq = self._seq
        number = (seq.first_frame if seq is not None else self._frames_total) + k
        if self._frame_cache is not None and self._frame_cache[0] == number:
            return self._frame_cache[1]
        if self.regs.get(REG_TEST_PATTERN, 0) == TEST_PATTERN_WALKING_ONES:
            img = walking_ones_pattern()
        else:
            img = self.camera.frame_at(number)
            flip = self.regs.get(REG_IMAGE_ORIENTATION, 0) ^ SCRIPT_ORIENTATION
            if flip & 0x01:
                img = img[:, ::-1]
            if flip & 0x02:
                img = img[::-1, :]
            if self.faults.dark:
                img = np.clip(np.rint(img * (DARK_MEAN / max(1.0, float(img.mean())))), 0, 255).astype(np.uint8)
            else:
                gain = self._gain(k)
                if gain != 1.0:
                    img = np.clip(np.rint(img * gain), 0, 255).astype(np.uint8)
        out = np.ascontiguousarray(self._wire_lut[img])
        self._frame_cache = (number, out)
        return out

    # ----- the pins -----

    def locate(self, t_s: float) -> tuple[int, int, int] | None:
        """(frame k of the current sequence, position in the frame in half PCLK periods, ticks per frame), or
        None when the sensor sends nothing at t_s."""
        self._last_t = max(self._last_t, t_s)
        seq = self._seq
        if seq is None or self._rate <= 0:
            return None
        u = self._u(t_s) + _TICK_EPS
        if u < seq.start_u or u >= seq.stop_u:
            return None
        rel = int(u - seq.start_u)
        k, r = divmod(rel, seq.frame_ticks)
        return k, r, seq.frame_ticks

    def pixel_at(self, t_s: float) -> tuple[int, int, int] | None:
        """(frame k, line, column) of the pixel on the data lines at t_s, or None outside active pixels."""
        where = self.locate(t_s)
        if where is None:
            return None
        k, r, _ = where
        g = self._seq.geom
        cycle = r // 2
        line, col = divmod(cycle, g.line_pclk)
        line -= 1
        if 0 <= line < HEIGHT and col < g.pixels:
            return k, line, col
        return None

    def pins(self, t_s: float) -> tuple[int, int, int, int]:
        """(vsync, hsync, pclk, data_byte) at emulated time t_s."""
        if self.faults.no_sensor:
            return 0, 0, 0, 0
        where = self.locate(t_s)
        if where is None:
            return 0, 0, 0, 0
        k, r, _ = where
        g = self._seq.geom
        cycle, half = divmod(r, 2)
        line, col = divmod(cycle, g.line_pclk)
        vsync = int(cycle < g.vsync_end and not self.faults.no_vsync)
        active = 1 <= line <= HEIGHT and col < g.pixels
        hsync = int(active)
        pclk = int(half == 0 and (active or not g.gated))
        data = int(self.frame_pixels(k)[line - 1, col]) if active else 0
        return vsync, hsync, pclk, data

    def next_change(self, t_s: float) -> float:
        """The earliest time after t_s at which pins() may differ from pins(t_s) (math.inf: never, until the
        firmware writes a register or MCLK changes). During active pixels that is the next half PCLK period."""
        if self.faults.no_sensor:
            return math.inf
        self._last_t = max(self._last_t, t_s)
        seq = self._seq
        if seq is None or self._rate <= 0:
            return math.inf
        u = self._u(t_s) + _TICK_EPS
        if u >= seq.stop_u:
            return math.inf
        if u < seq.start_u:
            return self._t(seq.start_u)
        g = seq.geom
        base = seq.start_u + ((int(u - seq.start_u)) // seq.frame_ticks) * seq.frame_ticks
        r = int(u - base)
        cycle = r // 2
        line, col = divmod(cycle, g.line_pclk)
        if 1 <= line <= HEIGHT and col < g.pixels or not g.gated:
            nxt = r + 1
        elif line == 0 and cycle < g.line_pclk:
            nxt = 2 * g.line_pclk  # first HSYNC
        elif line <= HEIGHT:
            nxt = 2 * (line + 1) * g.line_pclk  # next line's HSYNC, or VSYNC falling after the last line
        else:
            nxt = seq.frame_ticks  # next frame's VSYNC
        return self._t(min(base + nxt, seq.stop_u))

    def frame_period_s(self) -> float:
        """Seconds per frame at the current MCLK and registers (math.inf without MCLK)."""
        return self.geometry().frame_pclk / self.pclk_hz if self.pclk_hz > 0 else math.inf


@dataclass
class _Sequence:
    """Frames requested by one MODE_SELECT write: positions in ticks (half PCLK periods)."""

    start_u: float
    stop_u: float
    geom: Geometry
    frame_ticks: int
    first_frame: int
