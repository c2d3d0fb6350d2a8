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

The parts: `link` (port, writer thread, decoder), `exchange` (requests, deadlines, retries),
`staging` (the policy: when to stage), `streaming` (STREAM groups), `collectors` (replies -> values).
Not thread-safe: one Device per thread (it runs one helper thread of its own that writes to the port).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from vwwdeploy.constants import (
    DEFAULT_BAUD,
    HOST_INTER_BYTE_TIMEOUT_S,
    REQUEST_RETRIES,
    REQUEST_TIMEOUT_S,
    STAGE_TIMEOUT_S,
)
from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.link.collectors import (
    MISMATCH,
    Capture,
    CaptureCollector,
    InfoCollector,
    ReportCollector,
    ResultCollector,
    StagedResultCollector,
    ack_of,
    capture_flags,
    group_bytes,
)
from vwwdeploy.link.device_io import Link
from vwwdeploy.link.exchange import Exchange, Job
from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol.framing import Frame
from vwwdeploy.link.protocol.messages import DeviceInfo, Result
from vwwdeploy.link.protocol.pipeline import RAW_SHAPE
from vwwdeploy.link.staging import (
    STAGE_RETRY_FACTOR,
    STAGING_MODES,
    Decision,
    StagingPolicy,
    chunks,
)
from vwwdeploy.link.stats import LinkStats
from vwwdeploy.link.streaming import Streaming

__all__ = ["Capture", "Device", "LinkStats"]

T = m.MsgType
MAX_OUTSTANDING = 2  # docs/protocol.md section 2


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
        self.policy = StagingPolicy(staging)
        self._last_inference_s = 1.0  # the board's inference time (RESULT.latency_us), until one is seen
        self.inter_byte_timeout = inter_byte_timeout
        self.on_log = on_log
        self.stats = LinkStats()
        self.info: DeviceInfo | None = None
        self.logs: deque[m.Log] = deque(maxlen=200)
        self._link = Link(url, baud, self.stats, inter_byte_timeout)
        self._exchange = Exchange(self._link, self.stats, self.policy, timeout, retries)
        self._exchange.on_log = self._log

    @property
    def staged(self) -> bool:
        """Images go as STAGE chunks + INFER_STAGED (set by staging="always" or an "auto" switch)."""
        return self.policy.staged

    def link_rate(self) -> float:
        """Bytes/s the request deadlines assume: measured on this link (board compute included), at most
        what the nominal baud carries; the nominal rate until a large request has completed."""
        return self._exchange.rate()

    # ------------------------------------------------------------- public API

    def hello(self) -> DeviceInfo:
        """Ask the board who it is; the answer is also kept in `self.info`."""
        self.info = self._exchange.one(Job(T.HELLO, b"", InfoCollector, 256))
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

    def capture(self, raw: bool = False, infer: bool = True) -> Capture:
        """One camera frame (SET_FRAME's, or a test pattern, on boards without camera) and its result."""
        flags = capture_flags(raw, infer)
        model = self.info.input if self.info is not None else None
        collect = functools.partial(CaptureCollector, flags=flags, model_input=model)
        return self._exchange.one(Job(T.CAPTURE, m.encode_capture(flags), collect, group_bytes(flags, model)))

    def selftest(self, timeout: float | None = None) -> m.SelftestReport:
        """Run the board's self-test (SELFTEST): its REPORT, one Check per sensor, clock, memory and model check.

        The board reads whole camera frames meanwhile, so each attempt may take up to SELFTEST_TIMEOUT (30 s).
        A firmware without SELFTEST raises DeviceError with code UNKNOWN_TYPE.
        """
        wait = max(self._exchange.timeout, m.SELFTEST_TIMEOUT) if timeout is None else timeout
        return self._exchange.one(Job(T.SELFTEST, b"", ReportCollector, 1 + 16 * m.REPORT_MAX_CHECKS, wait))

    def set_frame(self, raw: np.ndarray) -> None:
        """Give the board a 244x324 uint8 sensor frame that CAPTURE/STREAM use instead of the camera."""
        raw = np.asarray(raw)
        if raw.ndim == 3 and raw.shape[2] == 1:
            raw = raw[:, :, 0]
        if raw.shape != RAW_SHAPE or raw.dtype != np.uint8:
            raise UserError(f"a raw frame is uint8 {RAW_SHAPE[0]}x{RAW_SHAPE[1]}, got {raw.dtype} {raw.shape}")
        payload = m.Image(raw[:, :, None], m.ImageKind.RAW).encode()
        self._exchange.one(Job(T.SET_FRAME, payload, ack_of(T.SET_FRAME), 256))

    def set_pipeline(self, mode: int) -> None:
        """Choose the board's image pipeline: 0 decimate (upstream's), 1 box-average."""
        mode = m.PipelineMode(int(mode))
        self._exchange.one(Job(T.SET_PIPELINE, m.encode_pipeline(mode), ack_of(T.SET_PIPELINE), 256))
        if self.info is not None:
            self.info = dataclasses.replace(self.info, pipeline_mode=mode)

    def stream(self, raw: bool = False, max_fps: int = 0, count: int = 0, infer: bool = True) -> Iterator[Capture]:
        """Captures as the board streams them (STREAM_START ... STREAM_STOP when the iterator closes).

        count=0 streams until you stop iterating. A board reset mid-stream restarts the stream; groups
        that lost a frame are dropped (counted in stats.stream_groups_dropped), never half-delivered.
        """
        if not 0 <= max_fps <= 0xFFFF or not 0 <= count <= 0xFFFFFFFF:
            raise UserError(f"stream max_fps must be 0..65535 and count 0..4294967295, got {max_fps}, {count}")
        model = self.info.input if self.info is not None else None
        return Streaming(self._exchange, capture_flags(raw, infer), self.hello, model).captures(max_fps, count)

    def close(self) -> None:
        self._link.close()

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Device({self.url!r}, baud={self.baud})"

    # ------------------------------------------------------------- inference, whole or staged

    def _infer_all(self, images: Iterator[np.ndarray], window: int) -> Iterator[Result]:
        """Whole-frame INFERs until the link proves too noisy (staging="auto"), then staged transfer."""
        policy = self.policy
        carry: list[np.ndarray] = []  # taken from `images` but not answered when the switch came
        while True:
            if policy.start_staged():
                self._require_staging()
                policy.staged = True
            if policy.staged:
                rest = itertools.chain(carry, images)
                for x in rest:
                    result = self._infer_staged(x, window)
                    if result is None:  # the policy gave staging up: this image and the rest go whole
                        carry, images = [x], rest
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
                    yield Job(T.INFER, m.Image(x, m.ImageKind.MODEL_INPUT).encode(), ResultCollector)

            policy.whole_frames(True)
            try:
                for result in self._exchange.run(jobs(), window):
                    taken.popleft()
                    self._last_inference_s = result.latency_us / 1e6
                    yield result
            finally:
                policy.whole_frames(False)
            if self._exchange.stopped is not Decision.SWITCH_TO_STAGED:
                return
            carry = list(taken)  # the unanswered ones go again, staged (late replies count as stale)
            if self.info is None:
                self.hello()
            if policy.switched(self.info.capabilities):
                self.stats.staging_switches += 1

    def _require_staging(self) -> None:
        if self.info is None:
            self.hello()
        if not self.info.capabilities & m.Capability.STAGED:
            raise DeviceError(
                f"{self.url} does not support staged transfer (INFO capability bit 3 clear): "
                "update its firmware or use staging='auto' or 'never'"
            )

    def _infer_staged(self, x: np.ndarray, window: int) -> Result | None:
        """One image through the staging buffer: STAGE every chunk (2 in flight, each retried on its own),
        then INFER_STAGED; on STAGE_MISMATCH or a board reset meanwhile, stage it all again. None when
        the policy decides resets cut staging short too often (whole frames from then on)."""
        parts = chunks(np.ascontiguousarray(x).tobytes())
        request = m.InferStaged.for_pixels(x).encode()
        # A board answers STAGE at once (a copy), so a lost chunk need not wait the full timeout: allow
        # for line latency, plus two inferences in case a retried INFER_STAGED still runs ahead of it.
        chunk_timeout = min(self.timeout, STAGE_TIMEOUT_S + 2 * self._last_inference_s)
        stage_retries = STAGE_RETRY_FACTOR * self.retries
        cut_short = 0  # stagings in a row that a board reset emptied
        for staging in range(self.retries + 1):
            if staging:
                self.stats.restages += 1
            jobs = [
                Job(T.STAGE, m.Stage(off, chunk).encode(), ack_of(T.STAGE), 32, chunk_timeout, stage_retries)
                for off, chunk in parts
            ]
            self.policy.staging(True)
            try:
                for _ in self._exchange.run(jobs, window):
                    pass
                result = None
                if self._exchange.stopped is None:
                    self.stats.staged_requests += 1
                    result = self._exchange.one(Job(T.INFER_STAGED, request, StagedResultCollector, 256))
            finally:
                self.policy.staging(False)
            if self._exchange.stopped is Decision.RESTAGE:  # chunks acknowledged before it are gone
                cut_short += 1
                if self.policy.after_cut_short(cut_short) is Decision.WHOLE_FRAMES:
                    return None
                continue
            if result is not MISMATCH:
                self._last_inference_s = result.latency_us / 1e6
                return result
            cut_short = 0
        raise DeviceError(
            f"{self.url} never held the staged image intact after {self.retries + 1} stagings "
            "(STAGE_MISMATCH or resets every time): is the link this noisy?"
        )

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

    def _log(self, frame: Frame) -> None:
        self.stats.logs += 1
        try:
            log = m.Log.decode(frame.payload)
        except m.PayloadError:
            return
        self.logs.append(log)
        if self.on_log:
            self.on_log(log)


def _hwc(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A model input shape (1HWC, HWC or HW) as HWC."""
    shape = tuple(shape)
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    return shape + (1,) if len(shape) == 2 else shape
