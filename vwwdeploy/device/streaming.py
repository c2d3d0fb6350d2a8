"""STREAM_START ... STREAM_STOP: FRAME/RESULT groups as the board sends them, whole groups only."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator

from vwwdeploy.device.collectors import DONE, MORE, Capture, CaptureCollector, ack_of, group_bytes
from vwwdeploy.device.exchange import Exchange, Job
from vwwdeploy.errors import DeviceError
from vwwdeploy.protocol import messages as m
from vwwdeploy.protocol.framing import Frame

T = m.MsgType


class Streaming:
    """One stream in progress. The exchange hands it the groups' frames and tells it about board resets."""

    def __init__(self, exchange: Exchange, flags: m.CaptureFlags, hello: Callable[[], object]):
        self.exchange, self.flags, self.hello = exchange, flags, hello
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
        group = self.groups.setdefault(frame.seq, CaptureCollector(frame.seq, self.flags))
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
        wire = group_bytes(self.flags)
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
                # ACK comes after the group in progress, which may sit behind one already queued.
                ex.one(Job(T.STREAM_STOP, b"", ack_of(T.STREAM_STOP), 2 * wire))
            except DeviceError:
                if ok:
                    raise
            finally:
                ex.stream = None
