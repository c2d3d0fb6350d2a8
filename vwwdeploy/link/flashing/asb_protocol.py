"""Host side of the Ambiq secure bootloader's UART wired-update protocol.

Every message either way: CRC-32 of the body (little-endian word), then the body, whose first word is
`(total length incl. CRC) << 16 | message type`. HELLO is answered by an 88-byte STATUS, every other command by a
20-byte ACK carrying the acknowledged type, a status (0 = success, else a NACK reason) and a sequence number.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from vwwdeploy.constants import FLASH_REPLY_TIMEOUT_S
from vwwdeploy.link.flashing.asb_image import OTA_DESCRIPTOR, WiredBlock
from vwwdeploy.link.flashing.crc import crc32
from vwwdeploy.link.flashing.errors import Garbled, NoAnswer, Refused, RetriesExhausted

HELLO, STATUS, OTADESC, UPDATE, ABORT, RECOVER, RESET, ACK, DATA = range(9)
MESSAGE_NAMES = {
    HELLO: "HELLO",
    STATUS: "STATUS",
    OTADESC: "OTADESC",
    UPDATE: "UPDATE",
    ABORT: "ABORT",
    RECOVER: "RECOVER",
    RESET: "RESET",
    ACK: "ACK",
    DATA: "DATA",
}

STATUS_SIZE = 88
ACK_SIZE = 20
MAX_MESSAGE = 8192  # the bootloader's UART message buffer
MAX_CHUNK = MAX_MESSAGE - 12  # DATA = CRC + header word + sequence word + chunk
RESET_POI, RESET_POR = 1, 2

ACK_SUCCESS = 0
ACK_STATUS_NAMES = {
    0: "success",
    1: "failure",
    2: "invalid info0",
    3: "CRC error",
    4: "security error",
    5: "message too big",
    6: "unknown message type",
    7: "invalid address",
    8: "invalid operation",
    9: "invalid parameter",
    10: "sequence error",
    11: "too much data",
}
# NACKs worth re-sending the same message for (line noise, a busy moment); the rest mean the request is wrong.
RETRYABLE = {1, 3}
MAX_TRIES = 4  # upstream's limit per message


def encode(msg_type: int, payload: bytes = b"") -> bytes:
    body = struct.pack("<I", ((len(payload) + 8) << 16) | msg_type) + payload
    return struct.pack("<I", crc32(body)) + body


def decode(raw: bytes) -> tuple[int, bytes]:
    """(type, payload after the header word) of a complete message; Garbled when its CRC or length is wrong."""
    if len(raw) < 8:
        raise Garbled(f"reply too short ({len(raw)} bytes)")
    crc, word = struct.unpack_from("<II", raw)
    if crc32(raw[4:]) != crc:
        raise Garbled("reply failed its CRC check (line noise or the wrong baud)")
    if word >> 16 != len(raw):
        raise Garbled(f"reply says it is {word >> 16} bytes long but {len(raw)} arrived")
    return word & 0xFFFF, raw[8:]


@dataclass(frozen=True)
class Status:
    version: int
    max_storage: int
    status: int
    state: int
    info: tuple[int, ...]


@dataclass(frozen=True)
class Ack:
    acked_type: int
    status: int
    sequence: int


class AsbSession:
    """One conversation with the bootloader over an open pyserial port (any object with read/write/timeout)."""

    def __init__(self, port, reply_timeout: float = FLASH_REPLY_TIMEOUT_S, log: Callable[[str], None] | None = None):
        self.port = port
        self.reply_timeout = reply_timeout
        self.log = log or (lambda message: None)
        self.nacks = 0

    # -- framing -------------------------------------------------------------------------------------------------
    def _exchange(self, message: bytes, reply_size: int, timeout: float) -> bytes:
        self.port.timeout = timeout
        self.port.write(message)
        reply = self.port.read(reply_size)
        if len(reply) != reply_size:
            name = MESSAGE_NAMES.get(struct.unpack_from("<I", message, 4)[0] & 0xFFFF, "?")
            got = f" (got {len(reply)} of {reply_size} bytes)" if reply else ""
            raise NoAnswer(f"no answer to {name} within {timeout:g} s{got}")
        return reply

    # -- commands ------------------------------------------------------------------------------------------------
    def hello(self, timeout: float | None = None) -> Status:
        msg_type, payload = decode(self._exchange(encode(HELLO), STATUS_SIZE, timeout or self.reply_timeout))
        if msg_type != STATUS:
            raise Garbled(f"HELLO answered by message type {msg_type}, expected STATUS")
        words = struct.unpack("<20I", payload)
        return Status(words[0], words[1], words[2], words[3], tuple(words[4:]))

    def command(self, msg_type: int, payload: bytes) -> Ack:
        """Send a command and wait for its ACK, re-sending on a retryable NACK (up to MAX_TRIES times)."""
        message = encode(msg_type, payload)
        name = MESSAGE_NAMES[msg_type]
        for attempt in range(1, MAX_TRIES + 1):
            reply_type, body = decode(self._exchange(message, ACK_SIZE, self.reply_timeout))
            if reply_type != ACK:
                raise Garbled(f"{name} answered by message type {reply_type}, expected ACK")
            ack = Ack(*struct.unpack("<III", body))
            if ack.acked_type != msg_type:
                raise Garbled(f"{name} acknowledged as message type {ack.acked_type}")
            if ack.status == ACK_SUCCESS:
                return ack
            self.nacks += 1
            reason = ACK_STATUS_NAMES.get(ack.status, f"status {ack.status}")
            if ack.status not in RETRYABLE:
                raise Refused(f"the bootloader refused {name}: {reason} (status {ack.status})")
            self.log(f"bootloader answered NACK ({reason}) to {name}; re-sending (try {attempt + 1} of {MAX_TRIES})")
        raise RetriesExhausted(f"the bootloader rejected {name} {MAX_TRIES} times in a row ({reason})")

    def ota_descriptor(self, address: int = OTA_DESCRIPTOR) -> Ack:
        return self.command(OTADESC, struct.pack("<I", address))

    def abort(self, code: int = 0) -> Ack:
        return self.command(ABORT, struct.pack("<I", code))

    def send_block(self, block: WiredBlock, on_bytes: Callable[[int], None] | None = None) -> None:
        """UPDATE (length, CRC-32 of the block), then DATA chunks whose sequence number is their offset."""
        data = block.data
        self.command(UPDATE, struct.pack("<III", len(data), crc32(data), 0))
        for offset in range(0, len(data), MAX_CHUNK):
            chunk = data[offset : offset + MAX_CHUNK]
            self.command(DATA, struct.pack("<I", offset) + chunk)
            if on_bytes:
                on_bytes(len(chunk))

    def reset(self, mode: int = RESET_POI) -> Ack:
        return self.command(RESET, struct.pack("<I", mode))


def wait_for_hello(session: AsbSession, window: float, interval: float = 0.5) -> Status | None:
    """Say HELLO every `interval` s until a STATUS comes back or `window` s pass (the user is pressing buttons)."""
    deadline = time.monotonic() + window
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        session.port.reset_input_buffer()
        try:
            return session.hello(timeout=min(interval, left))
        except (NoAnswer, Garbled):
            continue
