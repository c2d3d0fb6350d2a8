"""STREAM_START ... STREAM_STOP: FRAME/RESULT groups as the board sends them, whole groups only."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator

from vwwdeploy.errors import DeviceError
from vwwdeploy.link.collectors import DONE, MORE, Capture, CaptureCollector, ack_of, group_bytes
from vwwdeploy.link.exchange import Exchange, Job
from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol.framing import Frame, encode_frame

T = m.MsgType


class Streaming:
    """One stream in progress. The exchange hands it the groups' frames and tells it about board resets."""

    def __init__(
        self,
        exchange: Exchange,
        flags: m.CaptureFlags,
        hello: Callable[[], object],
        model_input: m.TensorInfo | None = None,  # the board's, for the FRAME size and the int8 mapping
    ):
        self.exchange, self.flags, self.hello, self.model_input = exchange, flags, hello, model_input
        self.stats = exchange.stats
        self.groups: dict[int, CaptureCollector] = {}  # device seq -> the group being gathered
        self.ready: deque[Capture] = deque()
        self.restart = False
        self.last_rx = 0.0

    def board_reset(self) -> None:
        self.restart = True

    def frame(self, frame: Frame) -> None:
        self.last_rx = time.monotonic()
        for seq in [s for s in self.groups if s != frame.seq]:  # a newer group began: older ones lost a frame
            del self.groups[seq]
            self.stats.stream_groups_dropped += 1
        group = self.groups.get(frame.seq)
        if group is None:
            group = self.groups[frame.seq] = CaptureCollector(frame.seq, self.flags, self.model_input)
        try:
            status = group.feed(frame)
        except m.PayloadError:
            status = "incomplete"
        if status == MORE:
            return
        del self.groups[frame.seq]
        if status == DONE:
            self.ready.append(group.value)
        else:
            self.stats.stream_groups_dropped += 1

    def captures(self, max_fps: int, count: int) -> Iterator[Capture]:
        ex, link = self.exchange, self.exchange.link
        delivered = 0
        # Longest legitimate silence between two groups: a frame period, the group's wire time, slack.
        wire = group_bytes(self.flags, self.model_input)
        silence = ex.timeout + wire / ex.rate() + (1.0 / max_fps if max_fps else 0.0)

        def start() -> None:
            left = count - delivered if count else 0
            try:
                payload = m.StreamStart(self.flags, max_fps, left).encode()
                ex.one(Job(T.STREAM_START, payload, ack_of(T.STREAM_START), 256))
            except DeviceError as exc:
                if exc.code != m.ErrorCode.BUSY:  # BUSY: already streaming, fine
                    raise
            self.restart = False
            self.last_rx = time.monotonic()

        ex.stream = self
        ok = False
        try:
            start()
            while not count or delivered < count:
                if self.ready:
                    delivered += 1
                    yield self.ready.popleft()
                    continue
                if self.restart:
                    self.groups.clear()
                    start()
                    continue
                for frame in link.receive(time.monotonic() + 0.1):
                    ex.dispatch(frame, {}, {}, 1)
                if not self.ready and time.monotonic() - self.last_rx > silence:
                    self.hello()  # alive at all? (raises DeviceError after the retries)
                    if count:
                        break  # the board finished its count; we lost some groups on the way
                    self.restart = True
            ok = True
        finally:
            try:
                self.stop(wire)
            except DeviceError:
                if ok:
                    raise
            finally:
                ex.stream = None

    def stop(self, wire: int) -> None:
        """STREAM_STOP now, resent right after each further group until ACKed.

        A board may be deaf while it captures (docs/protocol.md, "Capture windows"): it listens between
        groups, so a STOP that fell into a capture is sent again just after the next group ends. The ACK
        comes after the group in progress, which may sit behind one already queued.
        """
        ex, link = self.exchange, self.exchange.link
        seq = ex.next_seq()
        frame = encode_frame(T.STREAM_STOP, seq, b"")
        self.stats.requests += 1
        wait = ex.timeout + 2 * wire / ex.rate()
        for attempt in range(ex.retries + 1):
            if attempt:
                self.stats.retries += 1
            link.write(frame)
            until = time.monotonic() + wait
            resend = False
            while not resend and time.monotonic() < until:
                for f in link.receive(until):
                    if f.seq == seq and f.type == T.ACK and f.payload == bytes([T.STREAM_STOP]):
                        return
                    if f.seq == seq and f.type == T.ERROR:
                        try:
                            err = m.ErrorMsg.decode(f.payload)
                        except m.PayloadError:
                            continue
                        if err.code != m.ErrorCode.BAD_CRC:
                            raise DeviceError(
                                f"{link.url} answered STREAM_STOP with ERROR {err.code_name}", code=err.code
                            )
                        self.stats.crc_errors += 1
                        resend = True
                        continue
                    groups = (len(self.ready), self.stats.stream_groups_dropped)
                    ex.dispatch(f, {}, {}, 1)
                    resend |= groups != (len(self.ready), self.stats.stream_groups_dropped)
            if not resend:
                self.stats.timeouts += 1
        raise DeviceError(
            f"no answer from {link.url} to STREAM_STOP after {ex.retries + 1} attempts: "
            f"is the board running vwwdeploy firmware at {link.baud} baud?"
        )
