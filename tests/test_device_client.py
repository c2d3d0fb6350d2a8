"""The host client against a scripted fake board on a pty: retries, stale frames, resets, pipelining."""

from __future__ import annotations

import os
import select
import threading
import tty

import numpy as np
import pytest

from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.link import Device
from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol.framing import FrameDecoder, encode_frame

T = m.MsgType
X = np.zeros((4, 4, 1), np.int8)


def _result(seq: int, scores=(1, -1)) -> bytes:
    return encode_frame(T.RESULT, seq, m.Result(np.array(scores, np.int8), 10, 0).encode())


def _error(seq: int, code: m.ErrorCode, req: int, text: str = "") -> bytes:
    return encode_frame(T.ERROR, seq, m.ErrorMsg(int(code), req, text).encode())


class FakeBoard:
    """Answers each request frame with whatever `script(frame, n)` returns (n = requests so far)."""

    def __init__(self, script):
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self._slave = slave
        self.url = os.ttyname(slave)
        self.script = script
        self.received: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def _run(self):
        dec = FrameDecoder()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                continue
            for frame in dec.feed(data):
                self.received.append(frame)
                out = self.script(frame, len(self.received))
                if out:
                    self.send(out)

    def close(self):
        self._stop.set()
        self._thread.join(5)
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def fake(request):
    boards = []

    def make(script, **kw):
        board = FakeBoard(script)
        boards.append(board)
        # Generous by default: on a loaded machine a fake's reply can take longer than a short timeout,
        # which would add retries the assertions do not expect. Tests of timeouts pass a short one.
        return board, Device(board.url, timeout=kw.pop("timeout", 5.0), retries=kw.pop("retries", 3), **kw)

    yield make
    for board in boards:
        board.close()


def test_stale_and_foreign_frames_are_discarded(fake):
    def script(frame, n):
        # A late reply to an earlier seq, a reply with the right seq but the wrong type, then the answer.
        return _result((frame.seq - 1) & 0xFFFF, (9, 9)) + encode_frame(T.ACK, frame.seq, b"\x04") + _result(frame.seq)

    board, dev = fake(script)
    with dev:
        r = dev.infer(X)
    assert list(r.scores) == [1, -1] and r.seq == 0
    assert dev.stats.stale_frames == 2 and dev.stats.retries == 0


def test_bad_crc_error_resends_same_bytes_at_once(fake):
    def script(frame, n):
        return _error(frame.seq, m.ErrorCode.BAD_CRC, 0) if n == 1 else _result(frame.seq)

    board, dev = fake(script, timeout=30)  # a resend that waited for the timeout would hang the test
    with dev:
        r = dev.infer(X)
    assert list(r.scores) == [1, -1]
    assert dev.stats.retries == 1 and dev.stats.crc_errors == 1 and dev.stats.timeouts == 0
    first, second = board.received
    assert (first.seq, first.payload) == (second.seq, second.payload)


def test_timeout_then_retry(fake):
    board, dev = fake(lambda f, n: None if n == 1 else _result(f.seq), timeout=0.5)
    with dev:
        assert list(dev.infer(X).scores) == [1, -1]
    # the first attempt is never answered; a slow machine may time out the answered one too
    assert dev.stats.timeouts >= 1 and dev.stats.retries == dev.stats.timeouts


def test_corrupt_reply_is_never_accepted(fake):
    def script(frame, n):
        bad = bytearray(_result(frame.seq, (5, 5)))
        bad[14] ^= 0x01  # inside the payload: the frame CRC fails
        return bytes(bad) if n == 1 else _result(frame.seq)

    board, dev = fake(script, timeout=0.5)  # the corrupt reply is dropped: the retry follows the timeout
    with dev:
        assert list(dev.infer(X).scores) == [1, -1]
    assert dev.stats.crc_errors == 1 and dev.stats.retries >= 1


def test_boot_info_resends_in_flight_request_at_once(fake):
    info = encode_frame(T.INFO, 0, _info().encode())

    def script(frame, n):
        return info if n == 1 else _result(frame.seq)  # reset swallowed the first request

    board, dev = fake(script, timeout=30)
    with dev:
        assert list(dev.infer(X).scores) == [1, -1]
    assert dev.stats.resets == 1 and dev.stats.retries == 1 and dev.stats.timeouts == 0


def test_no_answer_is_one_clear_line_after_bounded_retries(fake):
    board, dev = fake(lambda f, n: None, timeout=0.1, retries=2)
    with dev, pytest.raises(DeviceError) as exc:
        dev.hello()
    text = str(exc.value)
    assert "\n" not in text and "no answer" in text and "HELLO after 3 attempts" in text
    assert len(board.received) == 3 and dev.stats.timeouts == 3


def test_error_frame_becomes_device_error(fake):
    board, dev = fake(lambda f, n: _error(f.seq, m.ErrorCode.BAD_SHAPE, T.INFER, "INFER needs int8 96x96x1"))
    with dev, pytest.raises(DeviceError, match="ERROR BAD_SHAPE: INFER needs int8 96x96x1"):
        dev.infer(X)


def test_pipelining_keeps_two_requests_in_flight(fake):
    seen_before_reply = []
    held = []

    def script(frame, n):
        # Hold each reply until the next request is in: only a pipelining host gets through without
        # timeouts. The last request (seq 5) releases everything.
        held.append(frame)
        if frame.seq != 5:
            if n == 1:
                return None
            seen_before_reply.append(held[-2].seq)
            keep = held[-1:]
        else:
            keep = []
        out = b"".join(_result(f.seq, (f.seq, -f.seq)) for f in held[: len(held) - len(keep)])
        held[:] = keep
        return out

    board, dev = fake(script, timeout=30)
    with dev:
        results = dev.infer_many([X] * 6)
    assert [r.seq for r in results] == [0, 1, 2, 3, 4, 5]
    assert [list(r.scores) for r in results] == [[s, -s] for s in range(6)]
    assert seen_before_reply == [0, 1, 2, 3] and dev.stats.requests == 6 and dev.stats.retries == 0


def test_capture_missing_frame_is_retried_not_half_accepted(fake):
    frame96 = m.Image(np.full((96, 96, 1), 7, np.uint8), m.ImageKind.MODEL_INPUT).encode()

    def script(frame, n):
        result = _result(frame.seq)
        if n == 1:
            return result  # its FRAME was lost
        return encode_frame(T.FRAME, frame.seq, frame96) + result

    board, dev = fake(script, timeout=30)
    with dev:
        cap = dev.capture()
    assert cap.frame.shape == (96, 96) and cap.frame[0, 0] == 7 and list(cap.result.scores) == [1, -1]
    assert cap.raw is None and cap.input[0, 0] == 7 - 128
    assert dev.stats.retries == 1


def test_stream_drops_incomplete_groups_and_stops(fake):
    frame96 = m.Image(np.full((96, 96, 1), 1, np.uint8), m.ImageKind.MODEL_INPUT).encode()

    def script(frame, n):
        if frame.type == T.STREAM_START:
            groups = b""
            for dev_seq in range(10, 15):
                fr = encode_frame(T.FRAME, dev_seq, frame96)
                groups += (b"" if dev_seq == 12 else fr) + _result(dev_seq, (dev_seq, 0))
            return encode_frame(T.ACK, frame.seq, b"\x04") + groups
        if frame.type == T.STREAM_STOP:
            return encode_frame(T.ACK, frame.seq, b"\x05")
        return None

    board, dev = fake(script)
    with dev:
        got = [c.result.scores[0] for c in dev.stream(count=4)]
    assert got == [10, 11, 13, 14] and dev.stats.stream_groups_dropped == 1
    assert [f.type for f in board.received] == [T.STREAM_START, T.STREAM_STOP]
    assert m.StreamStart.decode(board.received[0].payload).count == 4


def test_input_checks_are_one_line_user_errors(fake):
    board, dev = fake(lambda f, n: None)
    with dev:
        with pytest.raises(UserError, match="int8"):
            dev.infer(np.zeros((4, 4, 1), np.uint8))
        with pytest.raises(UserError, match="324"):
            dev.set_frame(np.zeros((96, 96), np.uint8))
    assert board.received == []


def _info() -> m.DeviceInfo:
    return m.DeviceInfo(
        1,
        "0.1.0",
        "fake",
        "fake-fw",
        "00" * 32,
        m.TensorInfo((1, 4, 4, 1), "int8", 0.0078, -1),
        m.TensorInfo((1, 2), "int8", 1 / 256, -128),
        0,
        0,
        "reference",
        0,
        ("a", "b"),
        m.Capability.NONE,
        27656,
    )


def test_hello_caches_info_and_checks_input_shape(fake):
    board, dev = fake(lambda f, n: encode_frame(T.INFO, f.seq, _info().encode()))
    with dev:
        info = dev.hello()
        assert dev.info == info and info.board == "fake" and info.input.shape == (1, 4, 4, 1)
        with pytest.raises(UserError, match="takes 4x4x1, got 8x8x1"):
            dev.infer(np.zeros((8, 8, 1), np.int8))


@pytest.mark.parametrize(
    "url,words",
    [
        ("/dev/ttyVWWNOPE9", "does not exist"),
        ("socket://127.0.0.1:1", "nothing listens"),
        ("bogus://x", "cannot open"),
    ],
)
def test_port_absent_is_one_line(url, words):
    with pytest.raises(DeviceError) as exc:
        Device(url)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_port_busy_is_one_line():
    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        with Device(path):
            with pytest.raises(DeviceError) as exc:
                Device(path)
        assert "busy" in str(exc.value) and "\n" not in str(exc.value)
    finally:
        os.close(master)
        os.close(slave)


def test_loop_url_without_board_times_out_boundedly():
    with Device("loop://", timeout=0.05, retries=1) as dev, pytest.raises(DeviceError, match="no answer"):
        dev.hello()
    assert dev.stats.stale_frames == 2  # our own echoed requests are not answers
