"""A simulated SparkFun Variable Loader (device side) on a pty, for tests.

Like the real one it waits for the auto-baud 'U' (only at rates its auto-baud knows), sends VER, waits for BL,
then asks NEXT / RETRY and writes each FRAME at 0x10000 + offset. It refuses frames whose CRC-16 fails or whose
length is not whole words (RETRY), and records such problems in `errors`.

Fault injection: `retry_frames` (frame ordinals answered once with RETRY although good), `corrupt_frames` (a bit
flipped on the line), `reset_after_frame` (the board resets after that frame: no answer, back to auto-baud),
`answer=False` (no SVL on this board).
"""

from __future__ import annotations

import struct

from vwwdeploy.testing.sim_pty import PtyDevice

VER, BL, NEXT, FRAME, RETRY, DONE = range(1, 7)
APP_ADDRESS = 0x10000
FLASH_SIZE = 0x100000
AUTOBAUD_RATES = (57600, 115200, 230400, 460800, 921600)


def _crc16_bitwise(data: bytes, crc: int = 0) -> int:
    """CRC-16/UMTS bit by bit, straight from its definition (the host builds its table differently)."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


# A byte-at-a-time table derived from the bitwise definition, so long frames stay cheap to check.
_TABLE = [_crc16_bitwise(bytes([b])) for b in range(256)]


def crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[(crc >> 8) ^ byte]
    return crc


def packet(command: int, data: bytes = b"") -> bytes:
    payload = bytes([command]) + data
    return struct.pack(">H", len(payload) + 2) + payload + struct.pack(">H", crc16(payload))


class SimSvl(PtyDevice):
    def __init__(
        self,
        bauds: tuple[int, ...] | None = AUTOBAUD_RATES,
        version: int = 6,
        answer: bool = True,
        retry_frames=(),
        corrupt_frames=(),
        reset_after_frame: int | None = None,
    ):
        super().__init__(bauds)
        self.version, self.answer = version, answer
        self.retry_frames, self.corrupt_frames = set(retry_frames), set(corrupt_frames)
        self.reset_after_frame = reset_after_frame
        self.confirm_timeout = 1.0  # how long it waits for BL after VER
        self.flash = bytearray(b"\xff" * FLASH_SIZE)
        self.errors: list[str] = []
        self.frame_count = 0
        self.retries_sent = 0
        self.handshakes = 0
        self.resets_injected = 0
        self.installed: bytes | None = None
        self.booted = False

    def run(self) -> None:
        while True:
            if self.read_exact(1) != b"U" or not self.answer:
                continue  # auto-baud measures only the 'U'; anything else is noise
            self.handshakes += 1
            self.write(packet(VER, bytes([self.version])))
            try:
                command, _ = self._read_packet(timeout=self.confirm_timeout)
            except TimeoutError:
                self.discard_input()
                continue  # no BL in time: a real SVL starts the old app; the host resets it and tries again
            if command != BL:
                self.errors.append(f"expected BL after VER, got {command}")
                continue  # a real SVL would start the old app; the host resets it again
            if self._bootload():
                return

    def _read_packet(self, timeout: float | None = None) -> tuple[int | None, bytes]:
        (length,) = struct.unpack(">H", self.read_exact(2, timeout))
        if length < 3:
            self.errors.append(f"packet length {length}")
            return None, b""
        body = bytearray(self.read_exact(length, timeout))
        return body[0], bytes(body)

    def _bootload(self) -> bool:
        offset, retry = 0, False
        while True:
            self.write(packet(RETRY if retry else NEXT))
            if retry:
                self.retries_sent += 1
            retry = False
            length_bytes = self.read_exact(2)
            (length,) = struct.unpack(">H", length_bytes)
            body = bytearray(self.read_exact(length)) if length else bytearray()
            if length < 3:
                self.errors.append(f"packet length {length}")
                retry = True
                continue
            if body[0] == FRAME:
                self.frame_count += 1
                if self.frame_count in self.corrupt_frames:
                    self.corrupt_frames.discard(self.frame_count)
                    body[len(body) // 2] ^= 0x04
                if self.frame_count == self.reset_after_frame:
                    self.reset_after_frame = None
                    self.resets_injected += 1
                    return False  # board reset: silent, back to waiting for 'U'
            if crc16(bytes(body)) != 0:
                retry = True  # the real SVL also waits out the line and flushes before asking again
                continue
            command, data = body[0], bytes(body[1:-2])
            if command == DONE:
                self.installed = bytes(self.flash[APP_ADDRESS : APP_ADDRESS + offset])
                self.booted = True
                self.finished.set()
                return True
            if command != FRAME:
                self.errors.append(f"unexpected command {command} during bootload")
                retry = True
                continue
            if self.frame_count in self.retry_frames:
                self.retry_frames.discard(self.frame_count)
                retry = True
                continue
            if len(data) % 4 or not data or len(data) > 2048:
                self.errors.append(f"frame of {len(data)} bytes: not 1..512 whole words")
                retry = True
                continue
            if APP_ADDRESS + offset + len(data) > FLASH_SIZE:
                self.errors.append("frame beyond the end of flash")
                retry = True
                continue
            self.flash[APP_ADDRESS + offset : APP_ADDRESS + offset + len(data)] = data
            offset += len(data)
