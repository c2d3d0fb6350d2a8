"""A simulated device at the far end of a pseudo-terminal, for tests and demos without a board.

The host opens `device.port` (the pty's slave side) with pyserial like any serial port; the device thread reads and
writes the master side. Because both sides of a pty share one termios, the device sees the baud the host set and
can ignore bytes sent at a rate it does not listen on, as a real UART would (it would see garbage).
"""

from __future__ import annotations

import termios
import threading
import time

from vwwdeploy.virtual_boards.sim.transport import PtyTransport

_SPEEDS = {
    getattr(termios, f"B{rate}"): rate
    for rate in (9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 921600, 1000000, 2000000)
    if hasattr(termios, f"B{rate}")
}


class Stopped(Exception):
    """The test is over: unwind the device thread."""


class PtyDevice:
    def __init__(self, bauds: tuple[int, ...] | None = None):
        self.bauds = bauds  # rates the device listens on; None = any
        self._pty = PtyTransport()  # raw from the start: no echo or newline translation
        self.port = self._pty.path
        self._stop = threading.Event()
        self._pending = bytearray()
        self._thread = threading.Thread(target=self._main, name=type(self).__name__, daemon=True)
        self.crashed: BaseException | None = None
        self.dropped_bytes = 0  # bytes that arrived at a rate the device does not listen on
        self.finished = threading.Event()  # set when the device has installed an image and "boots" it

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pty.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _main(self) -> None:
        try:
            self.run()
        except Stopped:
            pass
        except BaseException as exc:  # surfaced by tests through .crashed
            self.crashed = exc

    def run(self) -> None:  # pragma: no cover - subclasses implement the device
        raise NotImplementedError

    # -- I/O -------------------------------------------------------------------------------------------------------
    def host_baud(self) -> int | None:
        return _SPEEDS.get(self._pty.termios()[4])

    def _fill(self, deadline: float | None = None) -> None:
        while True:
            if self._stop.is_set():
                raise Stopped
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError
            try:
                data = self._pty.read(65536, 0.05)
            except OSError:
                continue  # host side closed for a moment (reopening at another baud)
            if not data:
                continue
            if self.bauds is not None and self.host_baud() not in self.bauds:
                self.dropped_bytes += len(data)
                self._pending.clear()
                continue
            self._pending += data
            return

    def read_exact(self, n: int, timeout: float | None = None) -> bytes:
        """n bytes from the host; TimeoutError after `timeout` seconds (None: wait as long as the test runs)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(self._pending) < n:
            self._fill(deadline)
        data = bytes(self._pending[:n])
        del self._pending[:n]
        return data

    def discard_input(self) -> None:
        self._pending.clear()

    def write(self, data: bytes) -> None:
        self._pty.write(data, self._stop)
        if self._stop.is_set():
            raise Stopped
