"""`DemoServer`: the board link plus a small HTTP server (stdlib) for the page and its event stream.

Routes: `/` the page, `/app.js` and `/style.css` its code, `/events` Server-Sent Events (hello,
status, history, frame), `/state` a JSON snapshot without pixels (for scripts and tests).
Everything is checked before anything is served: the HTTP address binds, `--record` is writable, the
board's port opens and answers HELLO; each failure is one line (UserError / DeviceError).
"""

from __future__ import annotations

import errno
import json
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from vwwdeploy.apps.demo.board_link import BoardLink
from vwwdeploy.apps.demo.hub import Hub
from vwwdeploy.constants import DEFAULT_BAUD, DEMO_RETRIES, DEMO_TIMEOUT_S
from vwwdeploy.errors import UserError

STATIC = Path(__file__).parent / "static"
ROUTES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
KEEPALIVE_S = 10.0  # an SSE comment this often, so a page behind a dead server notices and reconnects
DEFAULT_HTTP = ("127.0.0.1", 8096)


def parse_http_address(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT or :PORT (loopback); port 0 picks a free one."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise UserError(f"--http wants HOST:PORT (e.g. 127.0.0.1:8096), got {text!r}")
    host = host.strip("[]") or DEFAULT_HTTP[0]
    return host, int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # an open page must not keep the program alive after Ctrl-C

    def __init__(self, address, handler, hub: Hub):
        self.hub = hub
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "vwwdeploy-demo"

    def log_message(self, format, *args):  # noqa: A002  (quiet: the terminal shows the board, not requests)
        pass

    def do_GET(self):  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path in ROUTES:
            name, ctype = ROUTES[path]
            self._send(HTTPStatus.OK, (STATIC / name).read_bytes(), ctype)
        elif path == "/events":
            self._events()
        elif path == "/state":
            self._send(HTTPStatus.OK, json.dumps(self.server.hub.snapshot()).encode(), "application/json")
        elif path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def _send(self, status: HTTPStatus, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _events(self) -> None:
        hub = self.server.hub
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        sub = hub.subscribe()
        try:
            self.wfile.write(b"retry: 1000\n\n")  # EventSource reconnects after 1 s if we go away
            self.wfile.flush()
            while not hub.closed:
                event = sub.next(KEEPALIVE_S)
                self.wfile.write(event.data if event is not None else b": keepalive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass  # the page went away
        finally:
            sub.close()


class DemoServer:
    """Opens everything (or raises one line), then `start()` / `serve_forever()`; `stop()` ends it."""

    def __init__(
        self,
        port: str,
        http: tuple[str, int] = DEFAULT_HTTP,
        *,
        record: Path | None = None,
        raw: bool = False,
        baud: int = DEFAULT_BAUD,
        max_fps: int = 0,
        timeout: float = DEMO_TIMEOUT_S,
        retries: int = DEMO_RETRIES,
        warn=None,
    ):
        from vwwdeploy.link.client import Device

        if not 0 <= max_fps <= 0xFFFF:
            raise UserError(f"--max-fps must be 0..65535, got {max_fps}")
        if record is not None:
            from vwwdeploy.atomic import check_writable_dir

            if Path(record).exists() and not Path(record).is_dir():
                raise UserError(f"--record {record} exists and is not a directory")
            check_writable_dir(Path(record))
        self.hub = Hub()
        self.port = port
        self.httpd = _bind(http, self.hub)
        self._threads: list[threading.Thread] = []
        saver = None
        try:
            open_device = lambda: Device(port, baud=baud, timeout=timeout, retries=retries)  # noqa: E731
            dev = open_device()
            try:
                info = dev.hello()
                if record is not None:
                    from vwwdeploy.apps.monitor import FrameSaver

                    saver = FrameSaver(Path(record))
            except BaseException:
                dev.close()
                raise
        except BaseException:
            self.httpd.server_close()
            raise
        self.info = info
        self.saver = saver
        self.link = BoardLink(
            port,
            self.hub,
            open_device=open_device,
            device=dev,
            info=info,
            raw=raw,
            max_fps=max_fps,
            saver=saver,
            warn=warn,
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/"

    def start(self) -> "DemoServer":
        """Board thread and HTTP server in background threads (for tests and embedding)."""
        self.link.start()
        thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="vwwdeploy-demo-http", daemon=True
        )
        thread.start()
        self._threads.append(thread)
        return self

    def serve_forever(self) -> None:
        """Board thread in the background, HTTP in this thread, until KeyboardInterrupt."""
        self.link.start()
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        self.hub.close()  # open event streams end
        if self._threads:
            self.httpd.shutdown()
            for thread in self._threads:
                thread.join(timeout=5)
            self._threads.clear()
        self.link.stop()
        self.httpd.server_close()
        saver = self.link.saver
        if saver is not None:
            saver.close()

    def __enter__(self) -> "DemoServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _bind(address: tuple[str, int], hub: Hub) -> _Server:
    host, port = address
    try:
        return _Server((host, port), _Handler, hub)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UserError(
                f"HTTP port {host}:{port} is taken (another demo?); pick another with --http HOST:PORT"
            ) from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
            raise UserError(f"cannot serve HTTP on {host}:{port}: no such local address") from None
        if exc.errno == errno.EACCES:
            raise UserError(f"no permission to serve HTTP on port {port} (ports below 1024 need root)") from None
        raise UserError(f"cannot serve HTTP on {host}:{port}: {exc.strerror or exc}") from None
