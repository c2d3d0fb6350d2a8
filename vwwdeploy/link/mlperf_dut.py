"""The host end of an MLPerf Tiny DUT link: send `cmd%`, collect reply lines until `m-ready`, with deadlines.

Every wait has a deadline, so a silent, slow or rebooting board ends in an exception, never a hang:
`DutTimeout` (no `m-ready` in time), `DutReset` (the board printed its boot banner `m-init-done`
mid-command) and `DutErrorReply` (an `e-[...]` line). `recover()` brings the link back to a known state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from vwwdeploy.errors import DeviceError
from vwwdeploy.link import mlperf_protocol as p


class DutTimeout(DeviceError):
    pass


class DutReset(DeviceError):
    pass


class DutErrorReply(DeviceError):
    def __init__(self, command: str, text: str, lines: list[str]):
        super().__init__(f"the board answered e-[{text}] to `{command}`")
        self.command, self.text, self.lines = command, text, lines


@dataclass
class LinkStats:
    commands: int = 0
    timeouts: int = 0
    resets: int = 0
    error_replies: int = 0
    recoveries: int = 0
    log: list[str] = field(default_factory=list)  # the last problems seen, for the report

    def note(self, text: str) -> None:
        self.log = (self.log + [text])[-50:]


class MlperfLink:
    """One MLPerf Tiny DUT on a pyserial URL (/dev/tty*, socket://host:port, a pty path)."""

    def __init__(self, url: str, baud: int = p.BAUD, timeout: float = 5.0, port=None):
        from vwwdeploy.link.port import open_port

        self.url = url
        self.timeout = timeout
        self._port = port if port is not None else open_port(url, baud)
        self._pending = b""
        self.stats = LinkStats()

    def close(self) -> None:
        self._port.close()

    def __enter__(self) -> "MlperfLink":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- lines

    def _read_line(self, deadline: float) -> str | None:
        """The next complete line, or None when the deadline passes first."""
        while True:
            nl = self._pending.find(b"\n")
            if nl >= 0:
                raw, self._pending = self._pending[:nl], self._pending[nl + 1 :]
                return p.clean_line(raw)
            if time.monotonic() >= deadline:
                return None
            chunk = self._port.read(max(1, getattr(self._port, "in_waiting", 0) or 1))
            if chunk:
                self._pending += chunk

    def write_command(self, command: str) -> None:
        self._port.write((command + p.TERMINATOR).encode("ascii"))
        self._port.flush()

    def command(self, command: str, timeout: float | None = None, first_line_timeout: float | None = None) -> list[str]:
        """Send `command%` and return the reply lines up to and including `m-ready`.

        `first_line_timeout` bounds the wait for the first line (a board that heard the command answers
        at once, e.g. `m-warmup-start` before a long `infer`), `timeout` the whole reply.
        """
        self.stats.commands += 1
        self.write_command(command)
        start = time.monotonic()
        total = start + (self.timeout if timeout is None else timeout)
        first = min(total, start + first_line_timeout) if first_line_timeout is not None else total
        lines: list[str] = []
        error: str | None = None
        while True:
            line = self._read_line(first if not lines else total)
            if line is None:
                self.stats.timeouts += 1
                waited = time.monotonic() - start
                heard = f"; heard only {lines[-1]!r}" if lines else "; heard nothing"
                raise DutTimeout(f"no m-ready from the board {waited:.1f} s after `{command}`{heard}")
            if not line:
                continue
            lines.append(line)
            if line == p.INIT_DONE:
                self.stats.resets += 1
                raise DutReset(f"the board rebooted (m-init-done) during `{command}`")
            if error is None and (text := p.error_text(line)) is not None:
                error = text
            if p.READY in line:
                break
        if error is not None:
            self.stats.error_replies += 1
            raise DutErrorReply(command, error, lines)
        return lines

    def drain(self, quiet: float = 0.2, limit: float = 2.0) -> list[str]:
        """Read and return whatever the board still sends until it is quiet for `quiet` s (at most `limit` s)."""
        lines = []
        end = time.monotonic() + limit
        while time.monotonic() < end:
            line = self._read_line(min(end, time.monotonic() + quiet))
            if line is None:
                break
            if line:
                lines.append(line)
        self._pending = b""
        return lines

    def recover(self, timeout: float | None = None) -> None:
        """After a timeout, reset or error: end any half-received command with a lone `%` (as the official
        runner's port reset does), then drop everything until the board is quiet.

        A command whose `%` was lost stays in the board's buffer and would be glued to the next one; the
        lone `%` executes or rejects it now, and the caller restarts its step from `db load`, which
        rewinds the board's load position.
        """
        self.stats.recoveries += 1
        try:
            self._port.reset_input_buffer()
        except Exception:
            pass
        self._pending = b""
        self.write_command("")
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            line = self._read_line(deadline)
            if line is None or p.READY in line:
                break
        self.drain(quiet=0.2, limit=wait)
