"""Frames: `VW`, version, type, seq, length, header CRC-16, payload, frame CRC-32 (docs/protocol.md s.1).

`FrameDecoder` is the receiver of section 1, fed whatever bytes arrived. Every byte it consumes ends up
either in an accepted frame or in `garbage_bytes`, so a test can account for the whole stream.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from vwwdeploy.link.protocol.crc import crc16_ccitt_false, crc32

SYNC = b"VW"
VERSION = 1
HEADER_SIZE = 12
CRC_SIZE = 4
OVERHEAD = HEADER_SIZE + CRC_SIZE
MAX_PAYLOAD = 81_920
MIN_DEVICE_RX_PAYLOAD = 27_656

_HEAD = struct.Struct("<2sBBHI")  # sync, version, type, seq, length (bytes 0..9)
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes


@dataclass(frozen=True)
class Header:
    """A header that passed its CRC; what a device needs to answer BAD_CRC / TOO_LARGE."""

    type: int
    seq: int
    length: int


def encode_frame(type: int, seq: int, payload: bytes = b"") -> bytes:
    payload = bytes(payload)
    if not 0 <= type <= 0xFF:
        raise ValueError(f"frame type {type} is not a byte")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds MAX_PAYLOAD {MAX_PAYLOAD}")
    head = _HEAD.pack(SYNC, VERSION, type, seq & 0xFFFF, len(payload))
    head += _U16.pack(crc16_ccitt_false(head))
    body = head + payload
    return body + _U32.pack(crc32(body))


def parse_header(head: bytes) -> Header | None:
    """The 12 header bytes -> Header, or None when the sync, CRC, version or length is wrong."""
    if len(head) < HEADER_SIZE or head[:2] != SYNC:
        return None
    sync, version, type_, seq, length = _HEAD.unpack_from(head)
    if _U16.unpack_from(head, 10)[0] != crc16_ccitt_false(head[:10]):
        return None
    if version != VERSION or length > MAX_PAYLOAD:
        return None
    return Header(type_, seq, length)


class FrameDecoder:
    """Incremental receiver: `feed(bytes) -> [Frame]`.

    - `accept_limit`: a device's DEVICE_MAX_RX_PAYLOAD. A valid header announcing more is reported to
      `on_too_large(header)` and its N + 4 bytes are skipped as they arrive, never buffered.
    - `on_bad_crc(header)`: called for a frame whose header was valid but whose frame CRC failed (the
      device answers ERROR BAD_CRC with that seq).
    - `timeout()`: call when bytes stopped arriving mid-frame for the inter-byte timeout; the partial
      frame is abandoned (first sync byte dropped, the rest rescanned) and any complete frames found
      in the buffered bytes are returned. `on_abandoned(header)` hears of each partial frame with a
      valid header dropped this way (a device may answer it with BAD_CRC so the host resends at once).
    """

    def __init__(
        self,
        accept_limit: int = MAX_PAYLOAD,
        on_bad_crc: Callable[[Header], None] | None = None,
        on_too_large: Callable[[Header], None] | None = None,
        on_abandoned: Callable[[Header], None] | None = None,
    ):
        self.accept_limit = min(accept_limit, MAX_PAYLOAD)
        self.on_bad_crc = on_bad_crc
        self.on_too_large = on_too_large
        self.on_abandoned = on_abandoned
        self._buf = bytearray()
        self._skip = 0  # bytes of an oversized frame still to discard
        self.garbage_bytes = 0
        self.rejected_frames = 0  # valid header, bad frame CRC
        self.oversized_frames = 0
        self.frames = 0

    @property
    def pending(self) -> int:
        """Bytes held for a frame not yet complete (0 when idle)."""
        return len(self._buf) + self._skip

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        if self._skip:
            n = min(self._skip, len(data))
            self._skip -= n
            self.garbage_bytes += n
            data = data[n:]
        self._buf += data
        self._scan(out)
        return out

    def timeout(self) -> list[Frame]:
        """Inter-byte timeout / end of input: abandon partial frames, keep whatever was complete."""
        out: list[Frame] = []
        self.garbage_bytes += self._skip
        self._skip = 0
        while self._buf:
            if self.on_abandoned and len(self._buf) >= HEADER_SIZE:
                header = parse_header(bytes(self._buf[:HEADER_SIZE]))
                if header is not None:
                    self.on_abandoned(header)
            self._drop(1)
            self._scan(out)
        return out

    def reset(self) -> None:
        """Forget buffered bytes (counted as garbage), e.g. after reopening the port."""
        self.garbage_bytes += len(self._buf) + self._skip
        self._buf.clear()
        self._skip = 0

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        self.garbage_bytes += n

    def _scan(self, out: list[Frame]) -> None:
        buf = self._buf
        while True:
            start = buf.find(SYNC)
            if start < 0:
                # Keep a trailing 'V': it may be the first half of the next sync.
                keep = 1 if buf[-1:] == SYNC[:1] else 0
                self._drop(len(buf) - keep)
                return
            if start:
                self._drop(start)
            if len(buf) < HEADER_SIZE:
                return
            header = parse_header(bytes(buf[:HEADER_SIZE]))
            if header is None:
                self._drop(1)
                continue
            if header.length > self.accept_limit:
                self.oversized_frames += 1
                if self.on_too_large:
                    self.on_too_large(header)
                total = HEADER_SIZE + header.length + CRC_SIZE
                n = min(total, len(buf))
                self._drop(n)
                self._skip = total - n
                if self._skip:
                    return
                continue
            total = HEADER_SIZE + header.length + CRC_SIZE
            if len(buf) < total:
                return
            body_end = total - CRC_SIZE
            if _U32.unpack_from(buf, body_end)[0] != crc32(bytes(buf[:body_end])):
                self.rejected_frames += 1
                if self.on_bad_crc:
                    self.on_bad_crc(header)
                self._drop(1)
                continue
            out.append(Frame(header.type, header.seq, bytes(buf[HEADER_SIZE:body_end])))
            self.frames += 1
            del buf[:total]


def decode_frames(data: bytes) -> tuple[list[Frame], FrameDecoder]:
    """Decode a complete byte stream (end of input = inter-byte timeout)."""
    dec = FrameDecoder()
    frames = dec.feed(data)
    frames += dec.timeout()
    return frames, dec
