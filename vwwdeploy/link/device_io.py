"""The byte side of a `Device`: the port, a writer thread, and the frame decoder, all counted in LinkStats."""

from __future__ import annotations

import queue
import threading
import time

from vwwdeploy.constants import POLL_S
from vwwdeploy.errors import DeviceError
from vwwdeploy.link.port import open_port
from vwwdeploy.link.protocol.framing import OVERHEAD, Frame, FrameDecoder
from vwwdeploy.link.stats import LinkStats


class Link:
    """Frames in and out of one port. Writes go through a thread: a blocking write of a 9 KB request into a
    small tty buffer must not stop the caller reading the replies that let the next request go out."""

    def __init__(self, url: str, baud: int, stats: LinkStats, inter_byte_timeout: float):
        self.url, self.baud, self.stats = url, baud, stats
        self.inter_byte_timeout = inter_byte_timeout
        self._decoder = FrameDecoder()
        self._rejected_seen = 0
        self._last_rx = time.monotonic()
        self._port = open_port(url, baud)
        self._out: queue.Queue = queue.Queue()
        self._writer_error: BaseException | None = None
        self._writer = threading.Thread(target=self._write_loop, name="vwwdeploy-device-writer", daemon=True)
        self._writer.start()

    def write(self, data: bytes) -> None:
        if self._port is None:
            raise DeviceError(f"the link to {self.url} is closed")
        self._check_writer()
        self._out.put(data)
        self.stats.bytes_sent += len(data)
        self.stats.payload_bytes_sent += len(data) - OVERHEAD

    def receive(self, until: float) -> list[Frame]:
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
        self.stats.crc_errors += dec.rejected_frames - self._rejected_seen
        self._rejected_seen = dec.rejected_frames
        return frames

    def close(self) -> None:
        if self._port is None:
            return
        self._out.put(None)
        self._writer.join(timeout=2)
        if self._writer.is_alive() and hasattr(self._port, "cancel_write"):
            self._port.cancel_write()
            self._writer.join(timeout=2)
        try:
            self._port.close()
        finally:
            self._port = None

    def _read_available(self) -> bytes:
        """Wait up to one poll for a byte, then take whatever else is there.

        Works for every pyserial transport alike: where `in_waiting` is exact (ttys, loop://) it says how
        much to take; where it only says "something" (socket://), a read with no timeout drains the rest.
        """
        port = self._port
        data = port.read(1)
        if not data:
            return data
        waiting = port.in_waiting
        if waiting > 1:
            return data + port.read(waiting)
        port.timeout = 0
        try:
            return data + port.read(1 << 20)
        finally:
            port.timeout = POLL_S

    def _write_loop(self) -> None:
        while True:
            data = self._out.get()
            if data is None:
                return
            try:
                self._port.write(data)
            except BaseException as exc:  # reported by the next write/receive in the caller's thread
                self._writer_error = exc
                return

    def _check_writer(self) -> None:
        exc = self._writer_error
        if exc is not None:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DeviceError(f"lost the link to {self.url} while sending: {text}")
