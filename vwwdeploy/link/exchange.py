"""Requests and their replies: numbering, up to two in flight, deadlines, resends, stale frames.

Every request is numbered; the reply must carry the same seq and the expected type. A request that gets
no complete answer before its deadline, or that the board reports as BAD_CRC, is resent with the same
bytes and seq, up to its retry count; frames that answer nothing pending are dropped and counted. When
the staging policy decides the exchange must stop (switch to staged transfer, restage after a reset),
`run` ends early and `stopped` says why.

Deadlines follow the link as measured, not its nominal baud: an emulated UART or a congested bridge may
move far fewer bytes per second than the baud says, and two 27 KB requests in flight then need seconds
on the wire. Each completed request gives a throughput sample (its request and reply bytes over the time
it took, the board's compute included, so the estimate errs slow and deadlines err long); a deadline is
the board's `timeout` plus the wire time of the requests in flight at min(nominal, measured) rate, and a
deadline that has passed is first recomputed with what has been measured since. A timeout with no sign
of corruption (no bad CRC, no garbage) is never taken for line noise (no switch to staged transfer), and
a big request's first such timeout, before anything is measured, waits once more as long, unsent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from vwwdeploy.constants import BITS_PER_BYTE
from vwwdeploy.errors import DeviceError
from vwwdeploy.link.collectors import DONE, INCOMPLETE, Collector
from vwwdeploy.link.device_io import Link
from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol.framing import OVERHEAD, Frame, encode_frame
from vwwdeploy.link.staging import Decision, StagingPolicy
from vwwdeploy.link.stats import LinkStats

T = m.MsgType
# Requests smaller than this (HELLO, STAGE, ...) take mostly the board's time, not the line's: they would
# only make the throughput estimate slower than the line is.
MEASURE_MIN_BYTES = 2048


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
    slow: int = 0  # timeouts without any sign of corruption
    deadline: float = 0.0
    first_sent: float = 0.0
    sent: float = 0.0  # the last attempt
    noise_mark: int = 0  # corrupted + garbage bytes seen before this request went out

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
        self.nominal_rate = link.baud / BITS_PER_BYTE  # bytes/s
        self.measured_rate: float | None = None  # bytes/s, from completed requests
        self._last_done = 0.0
        self._seq = 0

    def rate(self) -> float:
        """Bytes/s deadlines assume: the measured throughput, never more than the nominal baud gives."""
        return min(self.nominal_rate, self.measured_rate or self.nominal_rate)

    def allowance(self, p: _Pending, window: int) -> float:
        """Seconds an attempt may take: the board's time plus the wire time of what is in flight."""
        timeout = self.timeout if p.job.timeout is None else p.job.timeout
        # The request may wait behind the other one in flight, and both need their time on the wire.
        wire = window * (len(p.frame) + p.job.reply_bytes) / self.rate()
        return (timeout + wire) * (2 if p.slow == 1 and p.attempts == 1 else 1)

    def _measure(self, p: _Pending, reply_bytes: int, now: float) -> None:
        start = max(p.first_sent, self._last_done)  # a request queued behind another starts when it ends
        self._last_done = now
        wire = len(p.frame) + reply_bytes + OVERHEAD
        if wire < MEASURE_MIN_BYTES or now <= start:
            return
        sample = wire / (now - start)
        self.measured_rate = sample if self.measured_rate is None else (self.measured_rate + sample) / 2

    def _noise(self) -> int:
        return self.stats.crc_errors + self.stats.garbage_bytes

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
                p.noise_mark = self._noise()
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
                    # What was measured since this attempt went out may give it longer.
                    p.deadline = max(p.deadline, p.sent + self.allowance(p, window))
                    if p.deadline > now:
                        continue
                    self.stats.timeouts += 1
                    corrupted = self._noise() > p.noise_mark
                    if not corrupted:
                        p.slow += 1
                        if self.measured_rate is None and p.slow == 1 and len(p.frame) >= MEASURE_MIN_BYTES:
                            # The link's speed is unknown yet and this request is big: it is more likely
                            # still on the wire than lost, and a resend would queue behind it. Wait longer.
                            p.deadline = now + self.allowance(p, window)
                            continue
                    self.stopped = self._failed(p, window, corrupted)
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
                return self._failed(p, window, corrupted=True)
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
                self._measure(p, len(frame.payload), time.monotonic())
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

    def _failed(self, p: _Pending, window: int, corrupted: bool) -> Decision | None:
        """An attempt timed out or came back BAD_CRC: resend, unless the policy says stop."""
        p.failures += 1
        decision = self.policy.after_failure(p.type, p.failures, corrupted)
        if decision is not Decision.RESEND:
            return decision
        self._attempt(p, window)
        return None

    def _attempt(self, p: _Pending, window: int) -> None:
        retries = self.retries if p.job.retries is None else p.job.retries
        if p.attempts > retries:
            raise DeviceError(
                f"no answer from {self.link.url} to {T(p.type).name} after {p.attempts} attempts "
                f"(the last allowed {self.allowance(p, window):.3g} s: {self._rate_text()}): "
                f"is the board running vwwdeploy firmware at {self.link.baud} baud?"
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
        p.sent = time.monotonic()
        p.first_sent = p.first_sent or p.sent
        p.deadline = p.sent + self.allowance(p, window)

    def _rate_text(self) -> str:
        if self.measured_rate is None:
            return f"wire time at the nominal {self.nominal_rate:,.0f} bytes/s, nothing measured yet"
        return (
            f"wire time at {self.rate():,.0f} bytes/s measured on this link "
            f"(nominal {self.nominal_rate:,.0f}, board compute included)"
        )

    def _decode(self, decoder, frame: Frame):
        try:
            return decoder(frame.payload)
        except m.PayloadError as exc:
            raise DeviceError(f"{self.link.url} sent a malformed {T(frame.type).name}: {exc}") from None
