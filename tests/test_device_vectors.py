"""The simulated board against the device-behaviour vectors (tests/vectors/device/behaviour.txt).

The same file drives the C++ command loop (firmware/tests/test_device_vectors.cc, run by
tests/test_firmware_core.py), so both devices are held to one behaviour: docs/protocol.md section 7.
"""

from __future__ import annotations

import os
import select
import time

import pytest
from device_vectors import LOG, Case, load

from vwwdeploy.link.protocol.framing import FrameDecoder
from vwwdeploy.testing.mean_classifier import MeanClassifier
from vwwdeploy.virtual_boards.sim import SimBoard

CASES = load()
REPLY_WAIT_S = 10.0  # generous: a loaded 2-core machine; a conforming device answers in milliseconds
QUIET_S = 0.4  # after the last step: longer than the device's 0.1 s inter-byte timeout, so late frames show


class _FailingCamera:
    description = "a sensor that never delivers"

    def frame(self):
        raise OSError("camera delivered no frame (scripted)")


class _PtyHost:
    """The host end of the board's pty, read and written raw (no pyserial: nothing flushed at open)."""

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        self.decoder = FrameDecoder()
        self.frames = []

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self.fd], [], 1.0)
            if ready:
                view = view[os.write(self.fd, view[:4096]) :]
            self._pump(0)

    def _pump(self, timeout: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            self.frames += [f for f in self.decoder.feed(os.read(self.fd, 65536)) if f.type != LOG]

    def take(self, n: int, wait: float) -> list:
        deadline = time.monotonic() + wait
        while len(self.frames) < n and time.monotonic() < deadline:
            self._pump(0.05)
        out, self.frames = self.frames[:n], self.frames[n:]
        return out

    def close(self) -> None:
        os.close(self.fd)


def _board(case: Case, tmp_path) -> SimBoard:
    model = tmp_path / "model.tflite"
    model.write_bytes(b"not a model: the mean classifier stands in")
    h, w, c = case.shape()
    dev = case.device
    board = SimBoard(
        model,
        max_rx_payload=int(dev["max_rx"]),
        staging=dev["staging"] == "yes",
        has_camera=dev["camera"] != "none",
        runtime=lambda: MeanClassifier((1, h, w, c), fail=dev["invoke"] == "fail"),
        warn=lambda text: None,
    )
    if dev["camera"] == "failing":
        board.camera = _FailingCamera()
    return board


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sim_board_answers_like_the_vectors(case, tmp_path):
    board = _board(case, tmp_path)
    host = None
    try:
        host = _PtyHost(board.serve_pty())
        for number, step in enumerate(case.steps):
            if step.kind == "send":
                host.write(step.data)
            got = host.take(len(step.replies), REPLY_WAIT_S)
            where = f"{case.name} step {number} ({step.kind})"
            assert len(got) == len(step.replies), f"{where}: {len(got)} replies, want {len(step.replies)}"
            for i, (want, frame) in enumerate(zip(step.replies, got)):
                why = want.mismatch(frame.type, frame.seq, frame.payload)
                assert why is None, f"{where} reply {i}: {why}"
        extra = host.take(1, QUIET_S)
        assert extra == [], f"{case.name}: unexpected frame after the last step: type 0x{extra[0].type:02x}"
    finally:
        if host is not None:
            host.close()
        board.stop()


def test_vectors_cover_every_request_type_and_error_code():
    from vwwdeploy.link.protocol import messages as m

    sent_types, codes = set(), set()
    for case in CASES:
        for step in case.steps:
            decoder = FrameDecoder()
            sent_types |= {f.type for f in decoder.feed(step.data) + decoder.timeout()}
            codes |= {int.from_bytes(r.payload[:2], "little") for r in step.replies if r.type == m.MsgType.ERROR}
    requests = {int(t) for t in m.MsgType if t < 0x80}
    assert requests <= sent_types, sorted(requests - sent_types)
    # BAD_VERSION and NO_CAMERA are reserved (docs/protocol.md section 3): no device sends them.
    assert {int(c) for c in m.ErrorCode} - {m.ErrorCode.BAD_VERSION, m.ErrorCode.NO_CAMERA} <= codes


def test_a_wrong_reply_is_reported():
    # The comparison itself must be able to fail: a flipped score, a wrong seq, a masked field.
    result = next(r for c in CASES for s in c.steps for r in s.replies if r.type == 0x82)
    assert result.mismatch(0x82, result.seq, result.payload) is None
    assert "differs" in result.mismatch(0x82, result.seq, result.payload[:-1] + bytes([result.payload[-1] ^ 1]))
    assert "seq" in result.mismatch(0x82, result.seq + 1, result.payload)
    assert result.mismatch(0x82, result.seq, b"\xff" * 12 + result.payload[12:]) is None  # latency is masked
