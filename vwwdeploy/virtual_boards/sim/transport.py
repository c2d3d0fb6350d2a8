"""Byte pipes the simulated board listens on: a pseudo-terminal or a TCP port (one client at a time)."""

from __future__ import annotations

import errno
import os
import select
import socket
import termios
import threading
import tty

from vwwdeploy.errors import UserError


class PtyTransport:
    """The board's end of a pty; the host opens `path` (/dev/pts/N) like any serial port.

    The one pty endpoint of the simulated devices: the simulated board and the bootloader simulators
    (vwwdeploy/testing/sim_pty.py) both read and write through it.
    """

    def __init__(self):
        self.master, self._slave = os.openpty()
        # Raw mode before anyone opens it: no echo, no CR/LF translation of binary frames.
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.url = self.path
        self._closed = False

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if self._closed:
            return b""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master, max_bytes)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            if exc.errno == errno.EIO:  # no slave open right now
                return b""
            raise

    def write(self, data: bytes, stop: threading.Event) -> None:
        view = memoryview(data)
        while view and not stop.is_set() and not self._closed:
            _, ready, _ = select.select([], [self.master], [], 0.1)
            if not ready:
                continue
            try:
                n = os.write(self.master, view)
            except (BlockingIOError, InterruptedError):
                continue
            view = view[n:]

    def termios(self) -> list:
        """The line settings the host set (both ends of a pty share them): baud, framing."""
        return termios.tcgetattr(self._slave)

    def pending(self) -> bool:
        """Are bytes from the host waiting to be read?"""
        if self._closed:
            return False
        return bool(select.select([self.master], [], [], 0)[0])

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for fd in (self.master, self._slave):
                try:
                    os.close(fd)
                except OSError:
                    pass


class TcpTransport:
    """Listens on host:port; the host connects with `socket://host:port`. A new client replaces the old."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._server.bind((host, port))
        except OSError as exc:
            self._server.close()
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._server.listen(1)
        self._server.setblocking(False)
        self.address = self._server.getsockname()[:2]
        self.url = f"socket://{self.address[0]}:{self.address[1]}"
        self._conn: socket.socket | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.connections = 0

    def _accept(self) -> None:
        try:
            conn, _ = self._server.accept()
        except (BlockingIOError, OSError):
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.setblocking(False)
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = conn
            self.connections += 1

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if self._closed:
            return b""
        conn = self._conn
        watch = [self._server] + ([conn] if conn is not None else [])
        try:
            ready, _, _ = select.select(watch, [], [], timeout)
        except (OSError, ValueError):
            return b""
        if self._server in ready:
            self._accept()
        if conn is not None and conn in ready:
            try:
                data = conn.recv(max_bytes)
            except (BlockingIOError, InterruptedError):
                return b""
            except OSError:
                data = b""
            if not data:  # the client went away; wait for the next one
                with self._lock:
                    if self._conn is conn:
                        self._conn = None
                conn.close()
            return data
        return b""

    def pending(self) -> bool:
        conn = self._conn
        if conn is None or self._closed:
            return False
        try:
            return bool(select.select([conn], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def write(self, data: bytes, stop: threading.Event) -> None:
        view = memoryview(data)
        while view and not stop.is_set() and not self._closed:
            conn = self._conn
            if conn is None:
                return  # nobody listening: the bytes are lost, as on an unplugged UART
            try:
                _, ready, _ = select.select([], [conn], [], 0.1)
                if not ready:
                    continue
                view = view[conn.send(view) :]
            except (BlockingIOError, InterruptedError):
                continue
            except (OSError, ValueError):
                return

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
            self._server.close()


class Served:
    """serve_pty / serve_tcp / url for a simulated device (the board, the MLPerf DUT): the subclass's
    `_start(transport)` sends its boot output and starts its threads; `stop()` ends them."""

    _transport = None

    def serve_pty(self) -> str:
        """Serve on a new pseudo-terminal; returns its path (/dev/pts/N), a pyserial URL."""
        self._start(PtyTransport())
        return self._transport.path

    def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Serve on a TCP port (0 = any free one); returns (host, port) for `socket://host:port`."""
        self._start(TcpTransport(host, port))
        return tuple(self._transport.address)

    @property
    def url(self) -> str:
        return self._transport.url if self._transport else ""

    def serve(self, tcp: bool | tuple[str, int] = False) -> str:
        """tcp=False: a pty; True: 127.0.0.1 and a free port; (host, port): that address. Returns the URL;
        on failure the device is stopped before the error propagates."""
        try:
            if tcp:
                self.serve_tcp(*(tcp if isinstance(tcp, tuple) else ("127.0.0.1", 0)))
            else:
                self.serve_pty()
        except BaseException:
            self.stop()
            raise
        return self.url

    def _start(self, transport) -> None:  # pragma: no cover - subclasses implement it
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - subclasses implement it
        raise NotImplementedError


def serve_until_stopped(device: Served, tcp, banner: str, summary) -> int:
    """`vwwdeploy sim`: serve, print the URL on stdout and `banner` on stderr, run until Ctrl-C or SIGTERM,
    then stop and print `summary()`."""
    import signal
    import sys

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        print(device.serve(tcp or False), flush=True)
        print(banner, file=sys.stderr, flush=True)
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        device.stop()
    print(summary(), file=sys.stderr)
    return 0
