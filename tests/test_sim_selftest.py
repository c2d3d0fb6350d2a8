"""SELFTEST on the simulated board: a healthy board passes, each injected hardware fault fails its own
checks; `--deaf-capture` drops every byte received during a capture and no request is lost or hangs."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.link import Device
from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol.framing import FrameDecoder, encode_frame
from vwwdeploy.virtual_boards.sim import start_sim_in_thread
from vwwdeploy.virtual_boards.sim.hardware import HardwareFaults

C, S = m.CheckId, m.CheckStatus
T = m.MsgType
CAMERA_DATA = [C.DATA_D0 + k for k in range(8)]


@pytest.fixture(scope="module")
def tiny_int8():
    from vwwdeploy.testing.tiny_models import tiny_model

    return tiny_model("int8")


def _report(model, camera=(), board=(), **kw) -> m.SelftestReport:
    url, stop = start_sim_in_thread(model, hardware=HardwareFaults.parse(list(camera), list(board)), **kw)
    try:
        with Device(url) as dev:
            return dev.selftest()
    finally:
        stop()


def _failed(report: m.SelftestReport) -> set[int]:
    return {c.id for c in report.checks if c.status == S.FAIL}


def test_healthy_sim_passes_every_check(tiny_int8):
    report = _report(tiny_int8)
    assert report.passed and _failed(report) == set()
    assert [c.id for c in report.checks] == sorted(int(c) for c in C)
    assert report.get(C.SENSOR_ID).measured == 0x01B0
    assert report.get(C.MODEL_OUTPUT).measured == 0 and report.get(C.MODEL_OUTPUT).status == S.PASS
    assert report.get(C.HEAP).status == S.NOT_APPLICABLE
    arena = report.get(C.ARENA)
    assert 0 < arena.measured <= arena.expected
    for check in report.checks:  # the sim judges as the spec's rules say
        assert check.status == S.NOT_APPLICABLE or (check.status == S.PASS) == check.rule_holds()


@pytest.mark.parametrize(
    "camera,board,fails",
    [
        (["stuck-bit:5"], [], {C.DATA_D5}),
        (["stuck-high:0"], [], {C.DATA_D0}),
        (["swap-bits:2:3"], [], {C.DATA_D2, C.DATA_D3}),
        (["no-sensor"], [], set(m.CAMERA_CHECKS)),
        (["no-vsync"], [], set(m.CAMERA_CHECKS) - {C.SENSOR_ID}),
        (["short-lines"], [], {C.PIXELS_PER_LINE}),
        (["dark"], [], {C.EXPOSURE_CONVERGED, C.EXPOSURE_MEAN}),
        ([], ["slow-clock"], {C.CORE_CLOCK}),
        ([], ["stack-overflow"], {C.STACK}),
        ([], ["model-mismatch"], {C.MODEL_OUTPUT}),
    ],
)
def test_each_fault_fails_its_own_checks(tiny_int8, camera, board, fails):
    report = _report(tiny_int8, camera, board)
    assert _failed(report) == {int(c) for c in fails}
    assert not report.passed


def test_stuck_line_counts_the_pixels_whose_bit_is_set():
    # Walking ones (0x01 .. 0x80, 0x00): D5 is set in one pixel of nine, so stuck low shows there, every frame.
    from vwwdeploy.virtual_boards.sim.hardware import WALKING_ONES_FRAMES, camera_checks

    checks = {c.id: c for c in camera_checks(HardwareFaults.parse(["stuck-bit:5"]), 100.0)}
    per_frame = sum(1 for x in range(324) if x % 9 == 5) * 244
    assert checks[C.DATA_D5].measured == WALKING_ONES_FRAMES * per_frame
    assert all(checks[k].measured == 0 for k in CAMERA_DATA if k != C.DATA_D5)


@pytest.mark.parametrize(
    "camera,board", [(["stuck-bit:8"], []), (["bogus"], []), (["swap-bits:1"], []), ([], ["slow"]), (["dark:1"], [])]
)
def test_bad_fault_names_are_one_line_errors(camera, board):
    with pytest.raises(UserError):
        HardwareFaults.parse(camera, board)


def test_sim_cli_refuses_an_unknown_fault(tiny_int8):
    proc = subprocess.run(
        [sys.executable, "-m", "vwwdeploy", "sim", "--model", str(tiny_int8), "--camera-fault", "stuck-bit:9"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "0..7" in lines[0]


def test_selftest_with_a_payload_is_bad_payload(tiny_int8):
    url, stop = start_sim_in_thread(tiny_int8, tcp=True)
    try:
        import serial

        port = serial.serial_for_url(url, timeout=2)
        port.write(encode_frame(T.SELFTEST, 5, b"\x00"))
        dec, frames, until = FrameDecoder(), [], time.monotonic() + 5
        while not any(f.seq == 5 for f in frames) and time.monotonic() < until:
            frames += dec.feed(port.read(port.in_waiting or 1))
        port.close()
        (reply,) = [f for f in frames if f.seq == 5]
        assert reply.type == T.ERROR and m.ErrorMsg.decode(reply.payload).code == m.ErrorCode.BAD_PAYLOAD
    finally:
        stop()


# ---------------------------------------------------------------- capture windows (deaf board)


def test_deaf_capture_drops_bytes_sent_during_a_capture(upstream_model):
    """A host that ignores the protocol loses its bytes: proves the sim's deaf window is real."""
    url, stop = start_sim_in_thread(upstream_model, deaf_capture=0.3)
    board = stop.board
    try:
        with Device(url, timeout=1.0, retries=3) as dev:
            dev.hello()
            # CAPTURE, then a HELLO written at once behind it (breaking the host rule): the HELLO arrives while
            # the board reads its frame, is dropped, and only the client's retry gets it answered.
            dev._link.write(encode_frame(T.CAPTURE, 1000, m.encode_capture(m.CaptureFlags.NO_INFER)))
            time.sleep(0.1)
            before = board.counters["deaf_dropped_bytes"]
            dev._link.write(encode_frame(T.HELLO, 1001, b""))
            time.sleep(0.4)
            assert board.counters["deaf_dropped_bytes"] - before == 16
    finally:
        stop()


@pytest.mark.slow
def test_no_request_lost_or_hung_on_a_deaf_board(upstream_model):
    """Every capturing request, a stream stopped many times, SELFTEST and INFERs in between, with the sim
    dropping every byte received during its 150 ms capture windows: all answered, no retry needed."""
    url, stop = start_sim_in_thread(upstream_model, deaf_capture=0.15)
    board = stop.board
    try:
        with Device(url, timeout=2.0, retries=2) as dev:
            dev.hello()
            x = np.zeros((96, 96, 1), np.int8)
            for round_ in range(3):
                cap = dev.capture(raw=round_ == 0)
                assert cap.result is not None and cap.frame.shape == (96, 96)
                assert dev.selftest().passed
                got = []
                for c in dev.stream(count=0):
                    got.append(c)
                    if len(got) == 2:
                        break
                assert len(got) == 2
                assert len(dev.infer_many([x, x, x])) == 3
            assert dev.stats.timeouts == 0
            # The STREAM_STOPs went right after a group's end, inside the listen window: none resent.
            assert dev.stats.retries == 0
        assert board.counters["capture_windows"] >= 3 * (1 + 1 + 2)
        assert board.counters["deaf_dropped_bytes"] == 0
    finally:
        stop()


@pytest.mark.slow
def test_stream_stop_lost_in_a_capture_is_resent_after_the_next_group(upstream_model):
    """A consumer slow enough that its STREAM_STOP lands in the next capture: the client resends it right after
    the following group and the stream ends without a timeout."""
    url, stop = start_sim_in_thread(upstream_model, deaf_capture=0.4)
    board = stop.board
    try:
        with Device(url, timeout=3.0, retries=3) as dev:
            dev.hello()
            for _cap in dev.stream(count=0, infer=False):
                # Wait until the board is in its next capture window (after its 0.1 s listen window).
                until = time.monotonic() + 5
                while not board._deaf and time.monotonic() < until:
                    time.sleep(0.005)
                assert board._deaf
                break
            assert dev.stats.timeouts == 0
            assert board.counters["deaf_dropped_bytes"] >= 16  # the first STOP was lost
            assert dev.stats.retries >= 1
            dev.hello()  # the board is idle and hears again
    finally:
        stop()


def test_selftest_on_a_firmware_without_it_is_one_line(tiny_int8, monkeypatch):
    # An older firmware answers UNKNOWN_TYPE: the client's DeviceError names the error.
    url, stop = start_sim_in_thread(tiny_int8)
    board = stop.board

    def old_answer(frame, gen, _orig=board._answer):
        if frame.type == T.SELFTEST:
            from vwwdeploy.virtual_boards.sim.board import _Reply

            raise _Reply(m.ErrorCode.UNKNOWN_TYPE, "type 0x0a")
        return _orig(frame, gen)

    monkeypatch.setattr(board, "_answer", old_answer)
    try:
        with Device(url) as dev, pytest.raises(DeviceError, match="UNKNOWN_TYPE"):
            dev.selftest()
    finally:
        stop()
