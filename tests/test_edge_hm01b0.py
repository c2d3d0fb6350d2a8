"""The Edge emulator's HM01B0 model: I2C registers, modes, frame timing from MCLK, test pattern, scene, faults."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from vwwdeploy.link.protocol.pipeline import crop_decimate, frame_from_image
from vwwdeploy.virtual_boards.edge import hm01b0 as hm
from vwwdeploy.virtual_boards.sim.camera import Camera
from vwwdeploy.virtual_boards.sim.hardware import HardwareFaults

MCLK = 6_000_000.0  # the driver's pattern-mode CTIMER output: 0x5555... at the 12 MHz HFRC
# The vendor 5 fps script's timing and output registers (HM01B0_RAW8_QVGA_8bits_lsb_5fps.h), in its order.
SCRIPT = [
    (0x0103, 0x00),
    (0x0100, 0x00),
    (0x2100, 0x01),
    (0x0340, 0x0C),
    (0x0341, 0x7A),
    (0x0342, 0x01),
    (0x0343, 0x77),
    (0x3010, 0x01),
    (0x3059, 0x02),
    (0x3060, 0x20),
    (0x0101, 0x01),
    (0x0104, 0x01),
    (0x0100, 0x00),
]
WALKING_ONES_SCRIPT = [(0x2100, 0x00), (0x1000, 0x00), (0x1008, 0x00), (0x0205, 0x00), (0x020E, 0x01), (0x0601, 0x11)]
FRAME_PCLK = 0x0C7A * 0x0177


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def make(faults: list[str] | None = None, camera: Camera | None = None, mclk: float = MCLK):
    clock = Clock()
    cam = hm.Hm01b0Model(camera=camera, faults=HardwareFaults.parse(faults or []), clock=clock, mclk_hz=mclk)
    return cam, clock


def write(cam, reg: int, *values: int) -> bool:
    return cam.i2c_write(bytes([reg >> 8, reg & 0xFF, *values]))


def read(cam, reg: int, n: int = 1) -> bytes | None:
    assert cam.i2c_write(bytes([reg >> 8, reg & 0xFF]))
    return cam.i2c_read(n)


def load(cam, script) -> None:
    for reg, value in script:
        assert write(cam, reg, value)


def request(cam, frames: int) -> None:
    assert write(cam, 0x3020, frames)
    assert write(cam, 0x0100, 0x03)


def frame_start(cam, clock) -> float:
    """Steps over pin changes to the next VSYNC rising edge after the clock."""
    t = clock.t
    while not cam.pins(t)[0]:
        t = cam.next_change(t)
        assert t < math.inf, "no frame starts"
    return t


def read_frame(cam, t: float) -> tuple[np.ndarray, list[int], float]:
    """Reads a frame as the firmware does, from VSYNC high: a byte at each PCLK rising edge while HSYNC is
    high; returns the rows, pixels per line and when VSYNC fell."""
    rows, counts, row = [], [], None
    prev_pclk = 0
    while True:
        vsync, hsync, pclk, data = cam.pins(t)
        if not vsync:
            return np.array([r for r in rows]), counts, t
        if hsync and row is None:
            row = []
        if hsync and pclk and not prev_pclk:
            row.append(data)
        if not hsync and row is not None:
            rows.append(row)
            counts.append(len(row))
            row = None
        prev_pclk = pclk
        t = cam.next_change(t)


def test_model_id_reads_0x01b0_and_i2c_address():
    cam, _ = make()
    assert hm.Hm01b0Model.I2C_ADDRESS == 0x24
    assert read(cam, 0x0000, 2) == b"\x01\xb0"
    assert read(cam, 0x0001) == b"\xb0"
    # The ID registers are read-only.
    assert write(cam, 0x0000, 0x55)
    assert read(cam, 0x0000) == b"\x01"


def test_registers_auto_increment_and_reset():
    cam, _ = make()
    assert write(cam, 0x2101, 0x40, 0x11)
    assert read(cam, 0x2101, 2) == b"\x40\x11"
    assert write(cam, 0x0103, 0x00)  # software reset: back to the reset values
    assert read(cam, 0x2101) == bytes([hm.RESET_VALUES[0x2101]])


def test_standby_sends_nothing_and_n_frames_stops_after_n():
    cam, clock = make()
    load(cam, SCRIPT)
    assert cam.next_change(0.0) == math.inf
    assert cam.pins(0.05) == (0, 0, 0, 0)
    request(cam, 2)
    assert read(cam, 0x0100) == b"\x03"
    period = FRAME_PCLK / MCLK
    t = 0.0
    starts = []
    while (t := cam.next_change(t)) < math.inf:
        if cam.pins(t)[0] and not cam.pins(t - 1e-9)[0]:
            starts.append(t)
        if not cam.pins(t)[1]:  # skip through the lines quickly: jump to the next line boundary
            continue
        t += 300 / MCLK
    assert len(starts) == 2
    assert starts[1] - starts[0] == pytest.approx(period, rel=1e-6)
    clock.t = 2 * period + 1e-3
    assert read(cam, 0x0100) == b"\x00"  # the sensor went back to standby
    assert read(cam, 0x0005) == b"\x02"  # frame counter


def test_standby_write_stops_streaming():
    cam, clock = make()
    load(cam, SCRIPT)
    assert write(cam, 0x0100, 0x01)
    clock.t = 0.5
    assert cam.pins(0.5 + 0.1 / MCLK)[0] in (0, 1)
    assert write(cam, 0x0100, 0x00)
    assert cam.next_change(0.6) == math.inf
    assert cam.pins(0.7) == (0, 0, 0, 0)


def test_frame_geometry_and_rate_follow_mclk_and_registers():
    cam, clock = make()
    load(cam, SCRIPT)
    request(cam, 1)
    rows, counts, end = read_frame(cam, frame_start(cam, clock))
    assert rows.shape == (244, 324) and set(counts) == {324}
    line = 0x0177 / MCLK
    assert end == pytest.approx(245 * line, rel=1e-9)  # VSYNC: one line before the first line, through the last
    assert cam.frame_period_s() == pytest.approx(FRAME_PCLK / MCLK)
    assert 1 / cam.frame_period_s() == pytest.approx(5.0, abs=0.02)  # the script's name: 5 fps
    # Twice the MCLK, twice the frame rate; the divider (0x3060 bit 3, bits 1:0) slows PCLK down.
    cam.set_mclk_hz(2 * MCLK)
    assert cam.frame_period_s() == pytest.approx(FRAME_PCLK / (2 * MCLK))
    write(cam, 0x3060, 0x08)
    assert cam.pclk_hz == pytest.approx(2 * MCLK / 8)
    write(cam, 0x3060, 0x0B)
    assert cam.pclk_hz == pytest.approx(2 * MCLK)
    cam.set_mclk_hz(0)
    assert cam.frame_period_s() == math.inf


def test_no_mclk_no_frames():
    cam, _ = make(mclk=0)
    load(cam, SCRIPT)
    request(cam, 1)
    assert cam.next_change(0.0) == math.inf
    assert cam.pins(1.0) == (0, 0, 0, 0)


def test_pclk_is_gated_to_active_pixels():
    cam, clock = make()
    load(cam, SCRIPT)
    request(cam, 1)
    t0 = frame_start(cam, clock)
    line = 0x0177 / MCLK
    # In the blank part of a line (after its 324 pixels), HSYNC and PCLK stay low.
    blank = t0 + line + 330 / MCLK
    assert cam.pins(blank)[1:3] == (0, 0)
    # Pixel j: PCLK high in the first half of its period.
    assert cam.pins(t0 + line + 5.25 / MCLK)[1:3] == (1, 1)
    assert cam.pins(t0 + line + 5.75 / MCLK)[1:3] == (1, 0)
    assert cam.pixel_at(t0 + line + 5.25 / MCLK) == (0, 0, 5)


def test_walking_ones_pattern_is_what_the_firmware_checks():
    cam, clock = make()
    load(cam, SCRIPT)
    load(cam, WALKING_ONES_SCRIPT)
    request(cam, 1)
    rows, counts, _ = read_frame(cam, frame_start(cam, clock))
    expected = [(1 << (x % 9)) if x % 9 < 8 else 0 for x in range(324)]  # period 9, as probe_logic.cc expects
    assert rows.shape == (244, 324)
    assert all(list(r) == expected for r in rows)
    with pytest.raises(hm.Hm01b0Unmodelled):
        write(cam, 0x0601, 0x01)


def settle(cam, clock, frames: int = 12) -> int:
    """The firmware's AE wait: N frames requested, hm01b0_get_ae's comparison after each; frames needed."""
    request(cam, frames)
    period = cam.frame_period_s()
    start = clock.t
    for k in range(frames):
        clock.t = start + k * period + 246 * 0x0177 / MCLK  # just after VSYNC fell
        target, th, mean = read(cam, 0x2101)[0], read(cam, 0x2103)[0], read(cam, 0x2020)[0]
        if target - th <= mean <= target + th:
            write(cam, 0x0100, 0x00)
            return k + 1
    write(cam, 0x0100, 0x00)
    return 0


def test_auto_exposure_converges_and_then_frames_are_the_pictures(tmp_path):
    rng = np.random.default_rng(3)
    pictures = []
    for k in range(2):
        img = Image.fromarray(rng.integers(0, 256, size=(300, 400, 3), dtype=np.uint8))
        img.save(tmp_path / f"p{k}.png")
        with Image.open(tmp_path / f"p{k}.png") as again:
            pictures.append(frame_from_image(again))
    cam, clock = make(camera=Camera(tmp_path))
    load(cam, SCRIPT)
    needed = settle(cam, clock)
    assert 1 < needed <= 12
    frames_before = read(cam, 0x0005)[0]
    clock.t += 1.0
    request(cam, 1)
    rows, _, _ = read_frame(cam, frame_start(cam, clock))
    expected = pictures[frames_before % 2]
    assert np.array_equal(rows, expected)
    assert np.array_equal(crop_decimate(rows.astype(np.uint8)), crop_decimate(expected))
    # A software reset (the script's first write) restarts AE: the first frame is dark again.
    clock.t += 1.0
    load(cam, SCRIPT)
    request(cam, 1)
    rows, _, _ = read_frame(cam, frame_start(cam, clock))
    assert rows.mean() < expected.mean() / 4


def test_fault_no_sensor_naks_and_drives_nothing():
    cam, _ = make(["no-sensor"])
    assert cam.i2c_write(b"\x00\x00") is False
    assert cam.i2c_read(2) is None
    assert cam.pins(0.1) == (0, 0, 0, 0)


def test_fault_no_vsync_answers_but_no_frame_starts():
    cam, clock = make(["no-vsync"])
    load(cam, SCRIPT)
    assert read(cam, 0x0000, 2) == b"\x01\xb0"
    request(cam, 1)
    seen = {cam.pins(clock.t + k * 1e-4)[0] for k in range(2000)}
    assert seen == {0}
    lines = {cam.pins(clock.t + k * 1e-4)[1] for k in range(2000)}
    assert 1 in lines  # the sensor still sends lines: only the VSYNC line is dead


@pytest.mark.parametrize(
    "fault,check",
    [
        ("stuck-bit:3", lambda got, exp: np.array_equal(got, exp & 0xF7)),
        ("stuck-high:0", lambda got, exp: np.array_equal(got, exp | 0x01)),
        (
            "swap-bits:2:5",
            lambda got, exp: np.array_equal(got, (exp & ~0x24 & 0xFF) | ((exp >> 2 & 1) << 5) | ((exp >> 5 & 1) << 2)),
        ),
    ],
)
def test_fault_data_lines_on_the_walking_ones(fault, check):
    cam, clock = make([fault])
    load(cam, SCRIPT)
    load(cam, WALKING_ONES_SCRIPT)
    request(cam, 1)
    t0 = frame_start(cam, clock)
    line = 0x0177 / MCLK
    got = np.array([cam.pins(t0 + line + (x + 0.25) / MCLK)[3] for x in range(324)])
    exp = np.array([(1 << (x % 9)) if x % 9 < 8 else 0 for x in range(324)])
    assert not np.array_equal(got, exp)
    assert check(got, exp)


def test_fault_short_lines():
    cam, clock = make(["short-lines"])
    load(cam, SCRIPT)
    request(cam, 1)
    _, counts, _ = read_frame(cam, frame_start(cam, clock))
    assert len(counts) == 244 and set(counts) == {320}


def test_fault_dark_never_converges():
    cam, clock = make(["dark"])
    load(cam, SCRIPT)
    assert settle(cam, clock) == 0
    assert read(cam, 0x2020)[0] == hm.DARK_MEAN
    clock.t += 1.0
    request(cam, 1)
    t0 = frame_start(cam, clock)
    line = 0x0177 / MCLK
    values = [cam.pins(t0 + (1 + y) * line + (x + 0.25) / MCLK)[3] for y in range(0, 244, 20) for x in range(0, 324, 7)]
    assert np.mean(values) < 15
