"""Requests and their replies: numbering, up to two in flight, deadlines, resends, stale frames.

Every request is numbered; the reply must carry the same seq and the expected type. A request that gets
no complete answer before its deadline, or that the board reports as BAD_CRC, is resent with the same
bytes and seq, up to its retry count; frames that answer nothing pending are dropped and counted. When
the staging policy decides the exchange must stop (switch to staged transfer, restage after a reset),
`run` ends early and `stopped` says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from vwwdeploy.device.collectors import DONE, INCOMPLETE, Collector
from vwwdeploy.device.link import Link
from vwwdeploy.device.staging import Decision, StagingPolicy
from vwwdeploy.device.stats import LinkStats
from vwwdeploy.errors import DeviceError
from vwwdeploy.protocol import messages as m
from vwwdeploy.protocol.framing import Frame, encode_frame

T = m.MsgType


@dataclass
class Job:
    type: int
    payload: bytes
    collector: Callable[[int], Collector]  # seq -> collector
    reply_bytes: int = 64  # expected size of the answer on the wire, for the deadline
    timeout: float | None = None  # None: the exchange's timeout
    retries: int | None = None  # None: the exchange's retries


@dataclass
class _Pending:
    index: int
    job: Job
    seq: int
    frame: bytes
    collector: Collector
    attempts: int = 0
    failures: int = 0  # attempts that timed out or came back BAD_CRC (resets are not the link's fault)
    deadline: float = 0.0

    @property
    def type(self) -> int:
        return self.job.type


class Exchange:
    def __init__(self, link: Link, stats: LinkStats, policy: StagingPolicy, timeout: float, retries: int):
        self.link, self.stats, self.policy = link, stats, policy
        self.timeout, self.retries = timeout, retries
        self.stopped: Decision | None = None  # why the last `run` ended early
        self.on_log: Callable[[Frame], None] = lambda frame: None
        self.stream = None  # the Streaming in progress: gets FRAME/RESULT groups and reset notices
        self._seq = 0

    def next_seq(self) -> int:
        seq = self._seq
        self._seq = (self._seq + 1) & 0xFFFF
        return seq

    def one(self, job: Job):
        """The value of one request (DeviceError when it never gets one); None when `stopped` says why not."""
        return next(iter(self.run([job], 1)), None)

    def run(self, jobs: Iterable[Job], window: int) -> Iterator:
        """Send requests with up to `window` in flight; yield their values in request order."""
        self.stopped = None
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
                seq = self.next_seq()
                p = _Pending(next_index, job, seq, encode_frame(job.type, seq, job.payload), job.collector(seq))
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
            for frame in self.link.receive(until):
                self.stopped = self.dispatch(frame, pending, done, window)
                if self.stopped:
                    return
            now = time.monotonic()
            for p in list(pending.values()):
                if p.deadline <= now and p.seq in pending:
                    self.stats.timeouts += 1
                    self.stopped = self._failed(p, window)
                    if self.stopped:
                        return

    def dispatch(self, frame: Frame, pending: dict, done: dict, window: int) -> Decision | None:
        """Route one received frame; a Decision when the policy says the exchange must stop."""
        self.stats.payload_bytes_received += len(frame.payload)
        if frame.type == T.LOG:
            self.on_log(frame)
            return None
        p = pending.get(frame.seq)
        if p is not None and frame.type == T.ERROR:
            err = self._decode(m.ErrorMsg.decode, frame)
            if err.code == m.ErrorCode.BAD_CRC:
                self.stats.crc_errors += 1
                return self._failed(p, window)
            if err.code == m.ErrorCode.BUSY and self.stream is None and p.type != T.STREAM_STOP:
                # A stream left running by an earlier program (or a lost STREAM_STOP): stop it, ask again.
                self.link.write(encode_frame(T.STREAM_STOP, self.next_seq(), b""))
                self._attempt(p, window)
                return None
            if err.request_type in (p.type, 0) and not p.collector.accepts(frame):
                text = f": {err.text}" if err.text else ""
                raise DeviceError(
                    f"{self.link.url} answered {T(p.type).name} with ERROR {err.code_name}{text}", code=err.code
                )
        if p is not None and p.collector.accepts(frame):
            try:
                status = p.collector.feed(frame)
            except m.PayloadError as exc:
                raise DeviceError(f"{self.link.url} sent a malformed {T(frame.type).name}: {exc}") from None
            if status == DONE:
                del pending[p.seq]
                done[p.index] = p.collector.value
            elif status == INCOMPLETE:
                self._attempt(p, window)
            return None
        if frame.type == T.INFO:
            # A boot INFO: the board reset and forgot whatever was in flight; resend now, not at the timeout.
            self.stats.resets += 1
            decision = self.policy.after_reset()
            if decision is not Decision.RESEND:
                return decision
            for q in list(pending.values()):
                self._attempt(q, window)
            if self.stream is not None:
                self.stream.board_reset()
            return None
        if self.stream is not None and frame.type in (T.FRAME, T.RESULT):
            self.stream.frame(frame)
            return None
        self.stats.stale_frames += 1
        return None

    def _failed(self, p: _Pending, window: int) -> Decision | None:
        """An attempt timed out or came back BAD_CRC: resend, unless the policy says stop."""
        p.failures += 1
        decision = self.policy.after_failure(p.type, p.failures)
        if decision is not Decision.RESEND:
            return decision
        self._attempt(p, window)
        return None

    def _attempt(self, p: _Pending, window: int) -> None:
        retries = self.retries if p.job.retries is None else p.job.retries
        timeout = self.timeout if p.job.timeout is None else p.job.timeout
        if p.attempts > retries:
            raise DeviceError(
                f"no answer from {self.link.url} to {T(p.type).name} after {p.attempts} attempts "
                f"({timeout:.3g} s each): is the board running vwwdeploy firmware at {self.link.baud} baud?"
            )
        if p.attempts:
            self.stats.retries += 1
            if p.type == T.STAGE:
                self.stats.chunk_retries += 1
        if p.type == T.STAGE:
            self.stats.chunks_sent += 1
        p.attempts += 1
        p.collector.reset()
        self.link.write(p.frame)
        # The request may wait behind the other one in flight, and both need their time on the wire.
        p.deadline = time.monotonic() + timeout + window * self.link.wire_time(len(p.frame) + p.job.reply_bytes)

    def _decode(self, decoder, frame: Frame):
        try:
            return decoder(frame.payload)
        except m.PayloadError as exc:
            raise DeviceError(f"{self.link.url} sent a malformed {T(frame.type).name}: {exc}") from None
