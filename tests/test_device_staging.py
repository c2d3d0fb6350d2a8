"""The client's staged transfer against a scripted board: when it switches, what it sends, how it
recovers from lost chunks, STAGE_MISMATCH and resets, and that boards without capability bit 3 (or
staging="never") keep whole frames exactly as before."""

from __future__ import annotations

import numpy as np
import pytest
from test_device_client import FakeBoard

from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.link import Device
from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol.crc import crc32
from vwwdeploy.link.protocol.framing import encode_frame

T = m.MsgType
SHAPE = (24, 24, 1)  # 576 bytes: chunks of 256, 256 and 64


def _info(staged: bool) -> m.DeviceInfo:
    caps = m.Capability.SET_FRAME | (m.Capability.STAGED if staged else 0)
    return m.DeviceInfo(
        protocol_version=1,
        firmware_version="0.1.0",
        board="fake",
        firmware_name="fake",
        model_sha256="00" * 32,
        input=m.TensorInfo((1, *SHAPE), "int8", 2 / 255, -1),
        output=m.TensorInfo((1, 2), "int8", 1 / 256, -128),
        arena_size=0,
        arena_used=0,
        kernels="unknown",
        clock_hz=0,
        labels=("notperson", "person"),
        capabilities=caps,
        max_rx_payload=27656,
    )


def _scores(pixels: bytes) -> np.ndarray:
    """The fake model: the CRC-32 of its input, as two int8 scores (so a wrong input gives wrong scores)."""
    c = crc32(pixels)
    return np.array([c & 0xFF, (c >> 8) & 0xFF], np.uint8).view(np.int8)


class StagingBoard:
    """Whole-frame INFERs always come back BAD_CRC (a link too noisy for them); staging works.
    `hooks(frame, nth_of_its_type)` may return bytes to send instead of the normal answer."""

    def __init__(self, staged=True, hooks=None, whole_ok=False):
        self.staged, self.hooks, self.whole_ok = staged, hooks, whole_ok
        self.buf = bytearray(m.STAGING_MIN_BYTES)
        self.counts: dict[int, int] = {}
        self.board = FakeBoard(self.script)

    def reset(self) -> bytes:
        self.buf = bytearray(m.STAGING_MIN_BYTES)
        return encode_frame(T.INFO, 0, _info(self.staged).encode())

    def script(self, frame, n):
        k = self.counts[frame.type] = self.counts.get(frame.type, 0) + 1
        if self.hooks:
            out = self.hooks(self, frame, k)
            if out is not None:
                return out
        err = lambda code: encode_frame(T.ERROR, frame.seq, m.ErrorMsg(int(code), frame.type, "").encode())  # noqa: E731
        if frame.type == T.HELLO:
            return encode_frame(T.INFO, frame.seq, _info(self.staged).encode())
        if frame.type == T.INFER:
            if not self.whole_ok:
                return err(m.ErrorCode.BAD_CRC)
            pixels = m.Image.decode(frame.payload).pixels.tobytes()
            return encode_frame(T.RESULT, frame.seq, m.Result(_scores(pixels), 5).encode())
        if not self.staged:
            return err(m.ErrorCode.UNKNOWN_TYPE)
        if frame.type == T.STAGE:
            st = m.Stage.decode(frame.payload)
            self.buf[st.offset : st.offset + len(st.data)] = st.data
            return encode_frame(T.ACK, frame.seq, m.encode_ack(T.STAGE))
        if frame.type == T.INFER_STAGED:
            req = m.InferStaged.decode(frame.payload)
            pixels = bytes(self.buf[: req.pixel_bytes])
            if crc32(pixels) != req.pixel_crc32:
                return err(m.ErrorCode.STAGE_MISMATCH)
            return encode_frame(T.RESULT, frame.seq, m.Result(_scores(pixels), 5).encode())
        return err(m.ErrorCode.UNKNOWN_TYPE)

    def types(self) -> list[int]:
        return [f.type for f in self.board.received]

    def close(self):
        self.board.close()


@pytest.fixture
def boards():
    made = []

    def make(**kw):
        b = StagingBoard(**kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


XS = [np.random.default_rng(i).integers(-128, 128, size=SHAPE, dtype=np.int8) for i in range(3)]


def _want(x) -> list[int]:
    return list(_scores(x.tobytes()))


def test_auto_switches_after_two_failures_and_stays_staged(boards):
    b = boards()
    with Device(b.board.url, timeout=30, retries=3) as dev:  # BAD_CRC answers: nothing waits for a timeout
        results = dev.infer_many(XS)
        assert dev.staged and dev.stats.staging_switches == 1
        assert [list(r.scores) for r in results] == [_want(x) for x in XS]
        # The first INFER failed twice (the second, in flight beside it, once or twice), the client
        # asked who the board is, then staged every image, the unanswered first two included.
        types = b.types()
        hello = types.index(T.HELLO)
        assert set(types[:hello]) == {T.INFER} and 3 <= hello <= 4
        assert types[hello + 1 :] == ([T.STAGE] * 3 + [T.INFER_STAGED]) * 3
        offsets = [m.Stage.decode(f.payload).offset for f in b.board.received if f.type == T.STAGE][:3]
        assert offsets == [0, 256, 512]
        s = dev.stats
        assert (s.staged_requests, s.chunks_sent, s.chunk_retries, s.restages) == (3, 9, 0, 0)
        # The rest of the session stays staged, single infer() included.
        assert list(dev.infer(XS[0]).scores) == _want(XS[0]) and b.types()[-1] == T.INFER_STAGED


def test_clean_link_keeps_whole_frames(boards):
    b = boards(whole_ok=True)
    with Device(b.board.url, timeout=30, retries=3) as dev:
        assert [list(r.scores) for r in dev.infer_many(XS)] == [_want(x) for x in XS]
        assert not dev.staged and b.types() == [T.INFER] * 3 and dev.stats.chunks_sent == 0


def test_lost_chunk_ack_is_resent_alone(boards):
    def hooks(board, frame, k):
        if frame.type == T.STAGE and k == 2:
            board.script_stage = m.Stage.decode(frame.payload)  # it was written, its ACK is lost
            board.buf[board.script_stage.offset : board.script_stage.offset + 256] = board.script_stage.data
            return b""

    b = boards(hooks=hooks)
    with Device(b.board.url, timeout=1.0, retries=3, staging="always") as dev:
        assert list(dev.infer(XS[0]).scores) == _want(XS[0])
        s = dev.stats
        # exact on an idle machine: (4, 1, 1, 0); a loaded one may time out a slow ACK as well
        assert s.chunk_retries >= 1 and s.timeouts >= 1 and s.restages == 0
        assert s.chunks_sent == 3 + s.chunk_retries
        stages = [m.Stage.decode(f.payload).offset for f in b.board.received if f.type == T.STAGE]
        assert set(stages) == {0, 256, 512} and stages.count(256) >= 2  # the unacknowledged chunk went again


def test_stage_mismatch_restages_the_image(boards):
    def hooks(board, frame, k):
        if frame.type == T.INFER_STAGED and k == 1:
            board.buf[5] ^= 0xFF  # the staged bytes got damaged after their ACK (say, a stray write)

    b = boards(hooks=hooks)
    with Device(b.board.url, timeout=30, retries=3, staging="always") as dev:
        assert list(dev.infer(XS[1]).scores) == _want(XS[1])
        s = dev.stats
        assert (s.staged_requests, s.chunks_sent, s.restages) == (2, 6, 1)
        assert b.types() == [T.HELLO] + ([T.STAGE] * 3 + [T.INFER_STAGED]) * 2


def test_reset_while_staging_restages_from_the_start(boards):
    def hooks(board, frame, k):
        if frame.type == T.STAGE and k == 3:  # the board resets as the last chunk arrives
            return board.reset()

    b = boards(hooks=hooks)
    with Device(b.board.url, timeout=30, retries=3, staging="always") as dev:
        assert list(dev.infer(XS[2]).scores) == _want(XS[2])
        s = dev.stats
        assert s.resets == 1 and s.restages == 1 and s.staged_requests == 1
        # The reset lost the chunks acknowledged before it: all three went again, then one INFER_STAGED.
        assert b.types() == [T.HELLO] + [T.STAGE] * 3 + [T.STAGE] * 3 + [T.INFER_STAGED]


def test_auto_goes_back_to_whole_frames_when_resets_keep_emptying_the_buffer(boards):
    """A board that resets faster than an image can be staged (a crash loop; the sim's --reset-every 10)."""

    def hooks(board, frame, k):
        if frame.type == T.STAGE and k % 2 == 0:
            return board.reset()
        if frame.type == T.INFER and k > 2:  # whole frames failed twice, then get through
            pixels = m.Image.decode(frame.payload).pixels.tobytes()
            return encode_frame(T.RESULT, frame.seq, m.Result(_scores(pixels), 5).encode())

    b = boards(hooks=hooks)
    with Device(b.board.url, timeout=30, retries=3) as dev:
        results = dev.infer_many(XS, window=1)
        assert [list(r.scores) for r in results] == [_want(x) for x in XS]
        s = dev.stats
        assert (s.staging_switches, s.staging_fallbacks, s.resets, s.staged_requests) == (1, 1, 2, 0)
        assert not dev.staged and b.types()[-2:] == [T.INFER, T.INFER]  # and it stays with whole frames


def test_board_without_bit3_keeps_whole_frames(boards):
    """auto on an older firmware: whole-frame retries as before, never a STAGE it would not know."""

    def hooks(board, frame, k):
        if frame.type == T.INFER and k % 3 == 0:  # every third attempt gets through
            pixels = m.Image.decode(frame.payload).pixels.tobytes()
            return encode_frame(T.RESULT, frame.seq, m.Result(_scores(pixels), 5).encode())

    b = boards(staged=False, hooks=hooks)
    with Device(b.board.url, timeout=30, retries=5) as dev:
        results = dev.infer_many(XS, window=1)
        assert [list(r.scores) for r in results] == [_want(x) for x in XS]
        assert not dev.staged and dev.stats.staging_switches == 0
        assert T.STAGE not in b.types() and T.INFER_STAGED not in b.types()
        assert b.types().count(T.HELLO) == 1  # asked once, remembered


@pytest.mark.parametrize("staged_board", [False, True])
def test_never_sends_whole_frames_only(boards, staged_board):
    def hooks(board, frame, k):
        if frame.type == T.INFER and k % 3 == 0:
            pixels = m.Image.decode(frame.payload).pixels.tobytes()
            return encode_frame(T.RESULT, frame.seq, m.Result(_scores(pixels), 5).encode())

    b = boards(staged=staged_board, hooks=hooks)
    with Device(b.board.url, timeout=30, retries=5, staging="never") as dev:
        results = dev.infer_many(XS, window=1)
        assert [list(r.scores) for r in results] == [_want(x) for x in XS]
        assert set(b.types()) == {T.INFER} and dev.stats.retries == 6 and dev.stats.crc_errors == 6


def test_always_on_a_board_without_bit3_is_one_clear_error(boards):
    b = boards(staged=False)
    with Device(b.board.url, timeout=30, retries=1, staging="always") as dev:
        with pytest.raises(DeviceError, match="does not support staged transfer") as exc:
            dev.infer(XS[0])
        assert "\n" not in str(exc.value) and T.STAGE not in b.types()


def test_bad_staging_mode_is_refused():
    with pytest.raises(UserError, match="staging must be one of auto, always, never"):
        Device("loop://", staging="sometimes")
