"""`Device`: one board (real, emulated or simulated) behind a pyserial URL, speaking protocol v1.

Every request is numbered; the reply must carry the same seq and the expected type. A request that
gets no complete answer within `timeout` (plus the time its bytes need on the wire), or that the board
reports as BAD_CRC, is resent with the same bytes and seq, up to `retries` times; frames that answer
nothing pending (late replies to an earlier attempt, say) are dropped and counted. `infer_many` keeps
two requests in flight so the board receives the next image while it computes the current one.

On a link too noisy for whole frames (a 9,232-byte INFER survives a per-byte error rate of 1e-3 once
in ~10,000 tries) the client switches to staged transfer (docs/protocol.md): the image goes to the
board's staging buffer in 256-byte STAGE chunks, each retried on its own, then INFER_STAGED names it
by CRC-32 and the board infers on it. `staging="auto"` (default) makes that switch after a request
has failed twice, for the rest of the session, when the board advertises it (INFO capability bit 3).

Not thread-safe: one Device per thread (it runs one helper thread of its own that writes to the port).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from vwwdeploy.constants import (
    DEFAULT_BAUD,
    HOST_INTER_BYTE_TIMEOUT_S,
    POLL_S,
    REQUEST_RETRIES,
    REQUEST_TIMEOUT_S,
    STAGE_TIMEOUT_S,
)
from vwwdeploy.device.port import open_port
from vwwdeploy.device.stats import LinkStats
from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.input_convention import pixel_to_int8
from vwwdeploy.protocol import messages as m
from vwwdeploy.protocol.framing import OVERHEAD, Frame, FrameDecoder, encode_frame
from vwwdeploy.protocol.messages import DeviceInfo, Result
from vwwdeploy.protocol.pipeline import RAW_SHAPE

T = m.MsgType
MAX_OUTSTANDING = 2  # docs/protocol.md section 2
STAGE_CHUNK = 256  # bytes per STAGE: at p = 1e-3 a 276-byte frame arrives intact 76% of the time
SWITCH_AFTER_FAILURES = 2  # staging="auto": a request that failed this often means the link is noisy
STAGE_TIMEOUT = STAGE_TIMEOUT_S
STAGE_RETRY_FACTOR = 4  # a STAGE costs 1/36 of a 96x96 frame's wire time: it may be resent 4x as often
FALL_BACK_AFTER_RESETS = 2  # staging="auto": an image whose staging resets cut short this often goes whole
STAGING_MODES = ("auto", "always", "never")
_MISMATCH = object()  # what an INFER_STAGED answered with STAGE_MISMATCH returns


class _SwitchToStaged(Exception):
    """Raised inside a whole-frame exchange: the link is too noisy; continue with staged transfer."""


class _BoardReset(Exception):
    """Raised inside a staged exchange on a boot INFO: the staging buffer is empty, stage again."""


class _BackToWholeFrames(Exception):
    """staging="auto": resets keep emptying the staging buffer before an image is complete."""


@dataclass
class Capture:
    """One camera frame as the board's pipeline produced it, with its result unless inference was skipped."""

    frame: np.ndarray  # uint8 [96, 96] (or [H, W, C] for a colour model): the model input + 128
    raw: np.ndarray | None = None  # uint8 [244, 324] when asked for
    result: Result | None = None
    seq: int = 0

    @property
    def input(self) -> np.ndarray:
        """The exact int8 model input the board used."""
        return pixel_to_int8(self.frame)


# ----------------------------------------------------------------- reply collectors
_DONE, _MORE, _INCOMPLETE = "done", "more", "incomplete"


class _Collector:
    """Gathers the reply frame(s) of one request; `value` is what the request returns."""

    types: tuple[int, ...] = ()

    def __init__(self, seq: int):
        self.seq = seq
        self.value = None

    def reset(self) -> None:
        pass

    def accepts(self, frame: Frame) -> bool:
        return frame.type in self.types

    def feed(self, frame: Frame) -> str:
        raise NotImplementedError


class _InfoCollector(_Collector):
    types = (T.INFO,)

    def feed(self, frame):
        self.value = m.DeviceInfo.decode(frame.payload)
        return _DONE


class _ResultCollector(_Collector):
    types = (T.RESULT,)

    def feed(self, frame):
        self.value = m.Result.decode(frame.payload, frame.seq)
        return _DONE


class _StagedResultCollector(_Collector):
    """RESULT of an INFER_STAGED, or `_MISMATCH` when the board's staging buffer held other bytes."""

    types = (T.RESULT,)

    def accepts(self, frame):
        if frame.type == T.ERROR:
            try:
                return m.ErrorMsg.decode(frame.payload).code == m.ErrorCode.STAGE_MISMATCH
            except m.PayloadError:
                return False
        return frame.type == T.RESULT

    def feed(self, frame):
        self.value = _MISMATCH if frame.type == T.ERROR else m.Result.decode(frame.payload, frame.seq)
        return _DONE


class _AckCollector(_Collector):
    types = (T.ACK,)

    def __init__(self, seq, acked):
        super().__init__(seq)
        self.acked = int(acked)

    def accepts(self, frame):
        return frame.type == T.ACK and frame.payload == bytes([self.acked])

    def feed(self, frame):
        return _DONE


class _CaptureCollector(_Collector):
    types = (T.FRAME, T.RESULT)

    def __init__(self, seq, flags: m.CaptureFlags):
        super().__init__(seq)
        self.flags = flags
        self.reset()

    def reset(self):
        self.frame = self.raw = self.result = None

    def feed(self, frame):
        if frame.type == T.FRAME:
            image = m.Image.decode(frame.payload)
            px = image.pixels
            if image.kind == m.ImageKind.RAW:
                self.raw = px[:, :, 0]
            else:
                self.frame = px[:, :, 0] if px.shape[2] == 1 else px
        else:
            self.result = m.Result.decode(frame.payload, frame.seq)
        want_raw = bool(self.flags & m.CaptureFlags.RAW)
        want_result = not self.flags & m.CaptureFlags.NO_INFER
        have_all = self.frame is not None and (self.raw is not None or not want_raw)
        if want_result:
            if self.result is None:
                return _MORE
            if not have_all:  # a FRAME of this attempt was lost: the RESULT alone is not a capture
                return _INCOMPLETE
        elif not have_all:
            return _MORE
        self.value = Capture(self.frame, self.raw, self.result, self.seq)
        return _DONE


@dataclass
class _Pending:
    index: int
    type: int
    seq: int
    frame: bytes
    collector: _Collector
    reply_bytes: int = 64  # expected size of the answer on the wire, for the deadline
    timeout: float | None = None  # None: the Device's timeout
    retries: int | None = None  # None: the Device's retries
    attempts: int = 0
    failures: int = 0  # attempts that timed out or came back BAD_CRC (resets are not the link's fault)
    deadline: float = 0.0


@dataclass
class _StreamState:
    flags: m.CaptureFlags
    groups: dict = field(default_factory=dict)  # device seq -> [frame, raw, result]
    ready: deque = field(default_factory=deque)
    restart: bool = False
    last_rx: float = 0.0


class Device:
    """One board behind a pyserial URL; identical for /dev/tty*, socket:// and the sim's pty."""

    def __init__(
        self,
        url: str,
        baud: int = DEFAULT_BAUD,
        timeout: float = REQUEST_TIMEOUT_S,
        retries: int = REQUEST_RETRIES,
        *,
        inter_byte_timeout: float = HOST_INTER_BYTE_TIMEOUT_S,
        on_log: Callable[[m.Log], None] | None = None,
        staging: str = "auto",
    ):
        if timeout <= 0 or retries < 0 or baud <= 0:
            raise UserError(f"bad link settings: timeout {timeout} s, retries {retries}, baud {baud}")
        if staging not in STAGING_MODES:
            raise UserError(f"staging must be one of {', '.join(STAGING_MODES)}, got {staging!r}")
        self.url, self.baud, self.timeout, self.retries = url, baud, timeout, retries
        self.staging = staging
        self.staged = False  # images go as STAGE chunks + INFER_STAGED (set by "always" or an "auto" switch)
        self._staging_unsupported = False  # "auto" found a board without capability bit 3, or gave staging up
        self._switch_armed = False
        self._abort_on_reset = False  # staged exchanges restage on a reset instead of resending
        self._last_inference_s = 1.0  # the board's inference time (RESULT.latency_us), until one is seen
        self.inter_byte_timeout = inter_byte_timeout
        self.on_log = on_log
        self.stats = LinkStats()
        self.info: DeviceInfo | None = None
        self.logs: deque[m.Log] = deque(maxlen=200)
        self._seq = 0
        self._decoder = FrameDecoder()
        self._last_rx = time.monotonic()
        self._stream: _StreamState | None = None
        self._port = open_port(url, baud)
        # Writes go through a thread: a blocking write of a 9 KB request into a small tty buffer must
        # not stop us reading the replies that let the next request go out (the line would idle).
        self._out: queue.Queue = queue.Queue()
        self._writer_error: BaseException | None = None
        self._writer = threading.Thread(target=self._write_loop, name="vwwdeploy-device-writer", daemon=True)
        self._writer.start()
        if type(self._port).__module__.endswith("protocol_socket"):
            self._read_available = lambda: _read_available_socket(self._port)
        else:
            self._read_available = lambda: self._port.read(self._port.in_waiting or 1)

    # ------------------------------------------------------------- public API

    def hello(self) -> DeviceInfo:
        """Ask the board who it is; the answer is also kept in `self.info`."""
        self.info = self._one(T.HELLO, b"", _InfoCollector)
        return self.info

    def infer(self, x: np.ndarray) -> Result:
        """Run the board's model on one int8 input (HWC or 1HWC, or HW for one channel)."""
        return self.infer_many([x])[0]  # one whole frame, or (staged) its chunks two in flight

    def infer_many(
        self, xs: Iterable[np.ndarray], window: int = MAX_OUTSTANDING, on_result: Callable[[Result], None] | None = None
    ) -> list[Result]:
        """Results for many inputs, in order, with up to `window` (<= 2) requests in flight."""
        return list(self.iter_infer(xs, window, on_result))

    def iter_infer(
        self, xs: Iterable[np.ndarray], window: int = MAX_OUTSTANDING, on_result: Callable[[Result], None] | None = None
    ) -> Iterator[Result]:
        """Like `infer_many` but yields each result as soon as it (and every earlier one) is in."""
        window = max(1, min(int(window), MAX_OUTSTANDING))
        for result in self._infer_all((self._input_array(x) for x in xs), window):
            if on_result:
                on_result(result)
            yield result

    def _infer_all(self, images: Iterator[np.ndarray], window: int) -> Iterator[Result]:
        """Whole-frame INFERs until the link proves too noisy (staging="auto"), then staged transfer."""
        carry: list[np.ndarray] = []  # taken from `images` but not answered when the switch came
        while True:
            if self.staging == "always" and not self.staged:
                self._require_staging()
                self.staged = True
            if self.staged:
                rest = itertools.chain(carry, images)
                for x in rest:
                    try:
                        result = self._infer_staged(x, window)
                    except _BackToWholeFrames:
                        # A board that resets faster than one image can be staged (a crash loop, or the
                        # sim's --reset-every): whole frames have the better chance; no switching again.
                        carry, images = [x], rest
                        self.staged, self._staging_unsupported = False, True
                        self.stats.staging_fallbacks += 1
                        break
                    yield result
                else:
                    return
                continue
            taken: deque[np.ndarray] = deque()

            def jobs(pending=carry, images=images, taken=taken):
                for x in itertools.chain(pending, images):
                    taken.append(x)
                    yield (T.INFER, m.Image(x, m.ImageKind.MODEL_INPUT).encode(), _ResultCollector)

            self._switch_armed = self.staging == "auto" and not self._staging_unsupported
            try:
                for result in self._exchange(jobs(), window):
                    taken.popleft()
                    self._last_inference_s = result.latency_us / 1e6
                    yield result
                return
            except _SwitchToStaged:
                carry = list(taken)  # the unanswered ones go again, staged (late replies count as stale)
            finally:
                self._switch_armed = False
            if self.info is None:
                self.hello()
            if self.info.capabilities & m.Capability.STAGED:
                self.staged = True
                self.stats.staging_switches += 1
            else:  # an older firmware: keep sending whole frames, as before
                self._staging_unsupported = True

    def _require_staging(self) -> None:
        if self.info is None:
            self.hello()
        if not self.info.capabilities & m.Capability.STAGED:
            raise DeviceError(
                f"{self.url} does not support staged transfer (INFO capability bit 3 clear): "
                "update its firmware or use staging='auto' or 'never'"
            )

    def _infer_staged(self, x: np.ndarray, window: int) -> Result:
        """One image through the staging buffer: STAGE every chunk (2 in flight, each retried on its own),
        then INFER_STAGED; on STAGE_MISMATCH or a board reset meanwhile, stage it all again."""
        data = np.ascontiguousarray(x).tobytes()
        chunks = [(off, data[off : off + STAGE_CHUNK]) for off in range(0, len(data), STAGE_CHUNK)]
        request = m.InferStaged.for_pixels(x).encode()
        # A board answers STAGE at once (a copy), so a lost chunk need not wait the full timeout: allow
        # for line latency, plus two inferences in case a retried INFER_STAGED still runs ahead of it.
        chunk_timeout = min(self.timeout, STAGE_TIMEOUT + 2 * self._last_inference_s)
        cut_short = 0  # stagings in a row that a board reset emptied
        for staging in range(self.retries + 1):
            if staging:
                self.stats.restages += 1
            jobs = [
                (
                    T.STAGE,
                    m.Stage(off, chunk).encode(),
                    lambda seq: _AckCollector(seq, T.STAGE),
                    32,
                    chunk_timeout,
                    STAGE_RETRY_FACTOR * self.retries,
                )
                for off, chunk in chunks
            ]
            self._abort_on_reset = True
            try:
                for _ in self._exchange(jobs, window):
                    pass
                self.stats.staged_requests += 1
                result = self._one(T.INFER_STAGED, request, _StagedResultCollector)
            except _BoardReset:  # chunks acknowledged before it are gone (late ACKs count as stale)
                cut_short += 1
                if cut_short >= FALL_BACK_AFTER_RESETS and self.staging == "auto":
                    raise _BackToWholeFrames() from None
                continue
            finally:
                self._abort_on_reset = False
            if result is not _MISMATCH:
                self._last_inference_s = result.latency_us / 1e6
                return result
            cut_short = 0
        raise DeviceError(
            f"{self.url} never held the staged image intact after {self.retries + 1} stagings "
            "(STAGE_MISMATCH or resets every time): is the link this noisy?"
        )

    def capture(self, raw: bool = False, infer: bool = True) -> Capture:
        """One camera frame (SET_FRAME's, or a test pattern, on boards without camera) and its result."""
        flags = self._flags(raw, infer)
        return self._one(
            T.CAPTURE, m.encode_capture(flags), lambda seq: _CaptureCollector(seq, flags), _group_bytes(flags)
        )

    def set_frame(self, raw: np.ndarray) -> None:
        """Give the board a 244x324 uint8 sensor frame that CAPTURE/STREAM use instead of the camera."""
        raw = np.asarray(raw)
        if raw.ndim == 3 and raw.shape[2] == 1:
            raw = raw[:, :, 0]
        if raw.shape != RAW_SHAPE or raw.dtype != np.uint8:
            raise UserError(f"a raw frame is uint8 {RAW_SHAPE[0]}x{RAW_SHAPE[1]}, got {raw.dtype} {raw.shape}")
        payload = m.Image(raw[:, :, None], m.ImageKind.RAW).encode()
        self._one(T.SET_FRAME, payload, lambda seq: _AckCollector(seq, T.SET_FRAME))

    def set_pipeline(self, mode: int) -> None:
        """Choose the board's image pipeline: 0 decimate (upstream's), 1 box-average."""
        mode = m.PipelineMode(int(mode))
        self._one(T.SET_PIPELINE, m.encode_pipeline(mode), lambda seq: _AckCollector(seq, T.SET_PIPELINE))
        if self.info is not None:
            self.info = _replace(self.info, pipeline_mode=mode)

    def stream(self, raw: bool = False, max_fps: int = 0, count: int = 0, infer: bool = True) -> Iterator[Capture]:
        """Captures as the board streams them (STREAM_START ... STREAM_STOP when the iterator closes).

        count=0 streams until you stop iterating. A board reset mid-stream restarts the stream; groups
        that lost a frame are dropped (counted in stats.stream_groups_dropped), never half-delivered.
        """
        if not 0 <= max_fps <= 0xFFFF or not 0 <= count <= 0xFFFFFFFF:
            raise UserError(f"stream max_fps must be 0..65535 and count 0..4294967295, got {max_fps}, {count}")
        return self._stream_iter(self._flags(raw, infer), max_fps, count)

    def close(self) -> None:
        if self._port is not None:
            self._out.put(None)
            self._writer.join(timeout=2)
            if self._writer.is_alive() and hasattr(self._port, "cancel_write"):
                self._port.cancel_write()
                self._writer.join(timeout=2)
            try:
                self._port.close()
            finally:
                self._port = None

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Device({self.url!r}, baud={self.baud})"

    # ------------------------------------------------------------- requests

    @staticmethod
    def _flags(raw: bool, infer: bool) -> m.CaptureFlags:
        flags = m.CaptureFlags.NONE
        if raw:
            flags |= m.CaptureFlags.RAW
        if not infer:
            flags |= m.CaptureFlags.NO_INFER
        return flags

    def _input_array(self, x: np.ndarray) -> np.ndarray:
        """A model input as int8 HWC, checked against the board's input shape when known."""
        x = np.asarray(x)
        if x.dtype != np.int8:
            raise UserError(f"the model input must be int8 (pixel - 128), got {x.dtype}")
        if x.ndim == 4 and x.shape[0] == 1:
            x = x[0]
        if x.ndim == 2:
            x = x[:, :, None]
        if x.ndim != 3:
            raise UserError(f"the model input must be HxWxC or 1xHxWxC, got shape {x.shape}")
        if self.info is not None:
            want = _hwc(self.info.input.shape)
            if tuple(x.shape) != want:
                raise UserError(
                    f"the board's model takes {'x'.join(map(str, want))}, got {'x'.join(map(str, x.shape))}"
                )
        return np.ascontiguousarray(x)

    def _one(self, type_: int, payload: bytes, make_collector, reply_bytes: int = 256):
        (value,) = self._exchange([(type_, payload, make_collector, reply_bytes)], 1)
        return value

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (self._seq + 1) & 0xFFFF
        return seq

    def _wire_time(self, nbytes: int) -> float:
        return nbytes * 10 / self.baud  # 8N1: 10 bits a byte

    def _exchange(self, jobs, window: int) -> Iterator:
        """Send requests with up to `window` in flight; yield their values in request order."""
        jobs = iter(jobs)
        pending: dict[int, _Pending] = {}
        done: dict[int, object] = {}
        next_index = next_out = 0
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                job = next(jobs, None)
                if job is None:
                    exhausted = True
                    break
                type_, payload, make_collector, *extra = job  # extra: reply_bytes, timeout
                seq = self._next_seq()
                frame = encode_frame(type_, seq, payload)
                p = _Pending(next_index, int(type_), seq, frame, make_collector(seq), *extra)
                next_index += 1
                self.stats.requests += 1
                pending[seq] = p
                self._attempt(p, window)
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
            if not pending:
                if exhausted:
                    return
                continue
            until = min(p.deadline for p in pending.values())
            for frame in self._receive(until):
                self._dispatch(frame, pending, done, window)
            now = time.monotonic()
            for p in list(pending.values()):
                if p.deadline <= now and p.seq in pending:
                    self.stats.timeouts += 1
                    self._failed(p, window)

    def _failed(self, p: _Pending, window: int) -> None:
        """An attempt timed out or came back BAD_CRC: resend, or give whole frames up (staging="auto")."""
        p.failures += 1
        if self._switch_armed and p.type == T.INFER and p.failures >= SWITCH_AFTER_FAILURES:
            raise _SwitchToStaged()
        self._attempt(p, window)

    def _attempt(self, p: _Pending, window: int) -> None:
        if p.attempts > (self.retries if p.retries is None else p.retries):
            raise DeviceError(
                f"no answer from {self.url} to {T(p.type).name} after {p.attempts} attempts "
                f"({self.timeout if p.timeout is None else p.timeout:.3g} s each): "
                f"is the board running vwwdeploy firmware at {self.baud} baud?"
            )
        if p.attempts:
            self.stats.retries += 1
            if p.type == T.STAGE:
                self.stats.chunk_retries += 1
        if p.type == T.STAGE:
            self.stats.chunks_sent += 1
        p.attempts += 1
        p.collector.reset()
        self._write(p.frame)
        # The request may wait behind the other one in flight, and both need their time on the wire.
        timeout = self.timeout if p.timeout is None else p.timeout
        p.deadline = time.monotonic() + timeout + window * self._wire_time(len(p.frame) + p.reply_bytes)

    def _dispatch(self, frame: Frame, pending: dict[int, _Pending], done: dict[int, object], window: int) -> None:
        self.stats.payload_bytes_received += len(frame.payload)
        if frame.type == T.LOG:
            self._log(frame)
            return
        p = pending.get(frame.seq)
        if p is not None and frame.type == T.ERROR:
            err = self._decode(m.ErrorMsg.decode, frame)
            if err.code == m.ErrorCode.BAD_CRC:
                self.stats.crc_errors += 1
                self._failed(p, window)
                return
            if err.code == m.ErrorCode.BUSY and self._stream is None and p.type != T.STREAM_STOP:
                # A stream left running by an earlier program (or a lost STREAM_STOP): stop it, ask again.
                self._write(encode_frame(T.STREAM_STOP, self._next_seq(), b""))
                self._attempt(p, window)
                return
            if err.request_type in (p.type, 0) and not p.collector.accepts(frame):
                text = f": {err.text}" if err.text else ""
                raise DeviceError(f"{self.url} answered {T(p.type).name} with ERROR {err.code_name}{text}")
        if p is not None and p.collector.accepts(frame):
            try:
                status = p.collector.feed(frame)
            except m.PayloadError as exc:
                raise DeviceError(f"{self.url} sent a malformed {T(frame.type).name}: {exc}") from None
            if status == _DONE:
                del pending[p.seq]
                done[p.index] = p.collector.value
            elif status == _INCOMPLETE:
                self._attempt(p, window)
            return
        if frame.type == T.INFO:
            # A boot INFO: the board reset and forgot whatever was in flight; resend now, not at the timeout.
            self.stats.resets += 1
            if self._abort_on_reset:
                raise _BoardReset()
            for q in list(pending.values()):
                self._attempt(q, window)
            if self._stream is not None:
                self._stream.restart = True
            return
        if self._stream is not None and frame.type in (T.FRAME, T.RESULT):
            self._stream_frame(frame)
            return
        self.stats.stale_frames += 1

    def _decode(self, decoder, frame: Frame):
        try:
            return decoder(frame.payload)
        except m.PayloadError as exc:
            raise DeviceError(f"{self.url} sent a malformed {T(frame.type).name}: {exc}") from None

    def _log(self, frame: Frame) -> None:
        self.stats.logs += 1
        try:
            log = m.Log.decode(frame.payload)
        except m.PayloadError:
            return
        self.logs.append(log)
        if self.on_log:
            self.on_log(log)

    # ------------------------------------------------------------- stream

    def _stream_frame(self, frame: Frame) -> None:
        st = self._stream
        st.last_rx = time.monotonic()
        for seq in [s for s in st.groups if s != frame.seq]:  # a newer group began: older ones lost a frame
            del st.groups[seq]
            self.stats.stream_groups_dropped += 1
        group = st.groups.setdefault(frame.seq, _CaptureCollector(frame.seq, st.flags))
        try:
            status = group.feed(frame)
        except m.PayloadError:
            status = _INCOMPLETE
        if status == _MORE:
            return
        del st.groups[frame.seq]
        if status == _DONE:
            st.ready.append(group.value)
        else:
            self.stats.stream_groups_dropped += 1

    def _stream_iter(self, flags: m.CaptureFlags, max_fps: int, count: int) -> Iterator[Capture]:
        st = self._stream = _StreamState(flags)
        delivered = 0
        # Longest legitimate silence between two groups: a frame period, the group's wire time, slack.
        group_bytes = _group_bytes(flags)
        silence = self.timeout + self._wire_time(group_bytes) + (1.0 / max_fps if max_fps else 0.0)

        def start() -> None:
            left = count - delivered if count else 0
            payload = m.StreamStart(flags, max_fps, left).encode()
            try:
                self._one(T.STREAM_START, payload, lambda seq: _AckCollector(seq, T.STREAM_START))
            except DeviceError as exc:
                if "BUSY" not in str(exc):  # already streaming: fine
                    raise
            st.restart = False
            st.last_rx = time.monotonic()

        ok = False
        try:
            start()
            while not count or delivered < count:
                if st.ready:
                    delivered += 1
                    yield st.ready.popleft()
                    continue
                if st.restart:
                    st.groups.clear()
                    start()
                    continue
                for frame in self._receive(time.monotonic() + 0.1):
                    self._dispatch(frame, {}, {}, 1)
                if not st.ready and time.monotonic() - st.last_rx > silence:
                    self.hello()  # alive at all? (raises DeviceError after the retries)
                    if count:
                        break  # the board finished its count; we lost some groups on the way
                    st.restart = True
            ok = True
        finally:
            try:
                # ACK comes after the group in progress, which may sit behind one already queued.
                stop = lambda seq: _AckCollector(seq, T.STREAM_STOP)  # noqa: E731
                self._one(T.STREAM_STOP, b"", stop, 2 * group_bytes)
            except DeviceError:
                if ok:
                    raise
            finally:
                self._stream = None

    # ------------------------------------------------------------- bytes

    def _write(self, data: bytes) -> None:
        if self._port is None:
            raise DeviceError(f"the link to {self.url} is closed")
        self._check_writer()
        self._out.put(data)
        self.stats.bytes_sent += len(data)
        self.stats.payload_bytes_sent += len(data) - OVERHEAD

    def _write_loop(self) -> None:
        while True:
            data = self._out.get()
            if data is None:
                return
            try:
                self._port.write(data)
            except BaseException as exc:  # reported by the next _write/_receive in the caller's thread
                self._writer_error = exc
                return

    def _check_writer(self) -> None:
        exc = self._writer_error
        if exc is not None:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DeviceError(f"lost the link to {self.url} while sending: {text}")

    def _receive(self, until: float) -> list[Frame]:
        """Frames that arrive before `until` (returns as soon as there is at least one)."""
        import serial

        if self._port is None:
            raise DeviceError(f"the link to {self.url} is closed")
        dec = self._decoder
        frames: list[Frame] = []
        while True:
            self._check_writer()
            now = time.monotonic()
            if dec.pending and now - self._last_rx > self.inter_byte_timeout:
                frames += dec.timeout()
            if frames or now >= until:
                break
            try:
                data = self._read_available()
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(f"lost the link to {self.url}: {str(exc).splitlines()[0]}") from None
            if data:
                self._last_rx = time.monotonic()
                self.stats.bytes_received += len(data)
                frames += dec.feed(data)
        self.stats.garbage_bytes = dec.garbage_bytes
        self.stats.crc_errors += dec.rejected_frames - getattr(self, "_rejected_seen", 0)
        self._rejected_seen = dec.rejected_frames
        return frames


def _read_available_socket(port) -> bytes:
    """pyserial's socket:// `in_waiting` says only 0 or 1; wait for a byte, then take what is there."""
    data = port.read(1)
    if data:
        port.timeout = 0
        try:
            data += port.read(1 << 20)
        finally:
            port.timeout = POLL_S
    return data


def _group_bytes(flags: m.CaptureFlags) -> int:
    """Wire bytes of one CAPTURE answer / STREAM group (96x96 FRAME, optional raw FRAME, RESULT)."""
    n = 96 * 96 * 3 + 8 + 16  # a colour model's frame at worst
    if flags & m.CaptureFlags.RAW:
        n += 324 * 244 + 8 + 16
    if not flags & m.CaptureFlags.NO_INFER:
        n += 14 + 255 + 16
    return n


def _hwc(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A model input shape (1HWC, HWC or HW) as HWC."""
    shape = tuple(shape)
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    return shape + (1,) if len(shape) == 2 else shape


def _replace(info: DeviceInfo, **changes) -> DeviceInfo:
    import dataclasses

    return dataclasses.replace(info, **changes)
