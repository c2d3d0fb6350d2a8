"""The simulated board's staged transfer (docs/protocol.md, "Staged transfer"), driven with raw frames:
STAGE -> ACK, INFER_STAGED -> RESULT on a CRC match else STAGE_MISMATCH, a reset empties the buffer,
bounds and shapes are checked, and a board without capability bit 3 does not know the messages."""

from __future__ import annotations

import numpy as np
import pytest
import serial

from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol.framing import FrameDecoder, encode_frame
from vwwdeploy.model.tflm_twin import TflmTwin
from vwwdeploy.virtual_boards.sim import start_sim_in_thread

T = m.MsgType


@pytest.fixture(scope="module")
def tiny_int8():
    from vwwdeploy.testing.tiny_models import tiny_model

    return tiny_model("int8")


class RawLink:
    """Requests one at a time over pyserial, replies matched by seq (no retries: the link is clean)."""

    def __init__(self, url: str):
        self.port = serial.serial_for_url(url, timeout=0.05)
        self.dec = FrameDecoder()
        self.seq = 0
        self.unsolicited: list = []

    def ask(self, type_: int, payload: bytes = b"", want=(T.ACK, T.RESULT, T.ERROR, T.INFO)):
        seq, self.seq = self.seq, self.seq + 1
        self.port.write(encode_frame(int(type_), seq, payload))
        for _ in range(200):  # 200 polls of 50 ms at most: a silent board fails the test, never hangs it
            for frame in self.dec.feed(self.port.read(4096)):
                if frame.seq == seq and frame.type in want:
                    return frame
                self.unsolicited.append(frame)
        raise AssertionError(f"no answer to {T(type_).name} seq {seq}")

    def close(self):
        self.port.close()


def _error(frame) -> m.ErrorMsg:
    assert frame.type == T.ERROR, f"expected an ERROR, got {T(frame.type).name}"
    return m.ErrorMsg.decode(frame.payload)


def _stage(link: RawLink, pixels: bytes, chunk: int = 256) -> None:
    for off in range(0, len(pixels), chunk):
        ack = link.ask(T.STAGE, m.Stage(off, pixels[off : off + chunk]).encode())
        assert ack.type == T.ACK and m.decode_ack(ack.payload) == T.STAGE


@pytest.fixture(scope="module")
def sim(tiny_int8):
    url, stop = start_sim_in_thread(tiny_int8)
    link = RawLink(url)
    yield link, stop.board
    link.close()
    stop()


def test_staged_inference_equals_whole_frame_inference(sim, tiny_int8):
    link, board = sim
    info = m.DeviceInfo.decode(link.ask(T.HELLO).payload)
    assert info.capabilities & m.Capability.STAGED and board.staging_size >= m.STAGING_MIN_BYTES
    x = np.random.default_rng(5).integers(-128, 128, size=(32, 32, 1), dtype=np.int8)
    _stage(link, x.tobytes(), chunk=100)  # any chunk size, last one short
    staged = link.ask(T.INFER_STAGED, m.InferStaged.for_pixels(x).encode())
    whole = link.ask(T.INFER, m.Image(x).encode())
    assert staged.type == whole.type == T.RESULT
    with TflmTwin(tiny_int8) as twin:
        want = twin.invoke(x[None]).reshape(-1)
    assert np.array_equal(m.Result.decode(staged.payload).scores, want)
    assert np.array_equal(m.Result.decode(whole.payload).scores, want)
    # A whole-frame INFER leaves the staging buffer alone: the staged image can be run again.
    again = link.ask(T.INFER_STAGED, m.InferStaged.for_pixels(x).encode())
    assert np.array_equal(m.Result.decode(again.payload).scores, want)


def test_mismatch_then_restage(sim):
    link, board = sim
    x = np.full((32, 32, 1), 7, np.int8)
    _stage(link, x.tobytes())
    y = x.copy()
    y[31, 31, 0] = 8  # one byte differs from what was staged
    err = _error(link.ask(T.INFER_STAGED, m.InferStaged.for_pixels(y).encode()))
    assert err.code == m.ErrorCode.STAGE_MISMATCH and err.request_type == T.INFER_STAGED
    link.ask(T.STAGE, m.Stage(32 * 32 - 1, b"\x08").encode())  # restage the byte that differs
    assert link.ask(T.INFER_STAGED, m.InferStaged.for_pixels(y).encode()).type == T.RESULT


def test_reset_empties_the_staging_buffer(sim):
    link, board = sim
    x = np.full((32, 32, 1), -3, np.int8)
    _stage(link, x.tobytes())
    board.reset()
    err = _error(link.ask(T.INFER_STAGED, m.InferStaged.for_pixels(x).encode()))
    assert err.code == m.ErrorCode.STAGE_MISMATCH
    assert any(f.type == T.INFO for f in link.unsolicited)  # the boot INFO told the host
    # Emptied means zeros: an all-zero image needs no staging after a reset.
    zeros = np.zeros((32, 32, 1), np.int8)
    assert link.ask(T.INFER_STAGED, m.InferStaged.for_pixels(zeros).encode()).type == T.RESULT


@pytest.mark.parametrize(
    "type_,payload,code",
    [
        (T.STAGE, m.Stage(m.STAGING_MIN_BYTES - 1, b"\x01\x02").encode(), m.ErrorCode.TOO_LARGE),
        (T.STAGE, m.Stage(0xFFFFFFFF, b"\x01").encode(), m.ErrorCode.TOO_LARGE),
        (T.STAGE, b"\x00\x00\x00\x00", m.ErrorCode.BAD_PAYLOAD),
        (T.STAGE, bytes(4 + 1025), m.ErrorCode.BAD_PAYLOAD),
        (T.INFER_STAGED, bytes(11), m.ErrorCode.BAD_PAYLOAD),
        (T.INFER_STAGED, m.InferStaged(96, 96, 1, 1, 0, 0).encode(), m.ErrorCode.BAD_SHAPE),
        (T.INFER_STAGED, m.InferStaged(32, 32, 1, 2, 0, 0).encode(), m.ErrorCode.BAD_SHAPE),  # uint8
        (T.INFER_STAGED, m.InferStaged(32, 32, 1, 1, 1, 0).encode(), m.ErrorCode.BAD_SHAPE),  # raw kind
        (T.INFER_STAGED, m.InferStaged(96, 96, 2, 1, 0, 0).encode(), m.ErrorCode.BAD_SHAPE),  # 2 channels
    ],
    ids=["past_end", "offset_huge", "no_data", "data_too_long", "short", "shape", "dtype", "kind", "two_channels"],
)
def test_bad_staged_requests_are_answered_with_errors(sim, type_, payload, code):
    link, _ = sim
    err = _error(link.ask(type_, payload))
    assert err.code == code and err.request_type == type_
    assert link.ask(T.HELLO).type == T.INFO  # and the board still serves


def test_a_board_without_staging_says_so(tiny_int8):
    url, stop = start_sim_in_thread(tiny_int8, staging=False)
    link = RawLink(url)
    try:
        info = m.DeviceInfo.decode(link.ask(T.HELLO).payload)
        assert not info.capabilities & m.Capability.STAGED
        for type_, payload in ((T.STAGE, m.Stage(0, b"\x01").encode()), (T.INFER_STAGED, bytes(12))):
            err = _error(link.ask(type_, payload))
            assert err.code == m.ErrorCode.UNKNOWN_TYPE
    finally:
        link.close()
        stop()
