"""Host side of the SparkFun Variable Loader (SVL).

After a reset the SVL listens ~200 ms for a 'U' to measure the baud rate, answers with a VER packet, and waits for
BL. Then it asks for each frame with NEXT (or RETRY when the last one was bad) and the host answers with a FRAME of
at most 2048 bytes, or DONE when nothing is left. Packets: 2-byte big-endian length (command + data + CRC), the
command byte, the data, CRC-16/UMTS of command + data (big-endian). The SVL writes whole words: a frame whose
length is not a multiple of 4 is refused, so the last one is padded.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

import serial

from vwwdeploy.link.flashing.crc import crc16_umts
from vwwdeploy.link.flashing.errors import Garbled, NoAnswer, RetriesExhausted

VER, BL, NEXT, FRAME, RETRY, DONE = range(1, 7)
COMMAND_NAMES = {VER: "VER", BL: "BL", NEXT: "NEXT", FRAME: "FRAME", RETRY: "RETRY", DONE: "DONE"}
APP_ADDRESS = 0x10000
FLASH_END = 0x100000
MAX_APP_SIZE = FLASH_END - APP_ADDRESS  # 983,040 B, as PlatformIO's board file says
FRAME_SIZE = 2048
AUTOBAUD = b"U"
BAUDS = (57600, 115200, 230400, 460800, 921600)  # the rates the SVL's auto-baud recognises
MAX_RETRIES = 4


@dataclass(frozen=True)
class Packet:
    command: int
    data: bytes


def encode(command: int, data: bytes = b"") -> bytes:
    payload = bytes([command]) + data
    return struct.pack(">H", len(payload) + 2) + payload + struct.pack(">H", crc16_umts(payload))


def read_packet(port, timeout: float) -> Packet:
    port.timeout = timeout
    head = port.read(2)
    if len(head) < 2:
        raise NoAnswer(f"no packet from the SVL within {timeout:g} s")
    (length,) = struct.unpack(">H", head)
    if length < 3:
        raise Garbled(f"SVL packet with impossible length {length}")
    body = port.read(length)
    if len(body) < length:
        raise NoAnswer(f"SVL packet cut short ({len(body)} of {length} bytes)")
    if crc16_umts(body) != 0:
        raise Garbled("SVL packet failed its CRC check (line noise or the wrong baud)")
    return Packet(body[0], body[1:-2])


def frames(app: bytes) -> list[bytes]:
    padded = app + b"\xff" * (-len(app) % 4)  # 0xFF = erased flash
    return [padded[i : i + FRAME_SIZE] for i in range(0, len(padded), FRAME_SIZE)]


def handshake(port, timeout: float) -> int:
    """Send the auto-baud character, read VER, confirm with BL; returns the SVL version."""
    port.reset_input_buffer()
    port.write(AUTOBAUD)
    packet = read_packet(port, timeout)
    if packet.command != VER:
        raise Garbled(f"expected the SVL's VER packet, got command {packet.command}")
    port.write(encode(BL))
    return int.from_bytes(packet.data, "big") if packet.data else 0


def upload(
    port,
    app: bytes,
    timeout: float,
    on_bytes: Callable[[int], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> int:
    """Answer NEXT/RETRY requests until every frame is written; returns how many RETRYs the SVL asked for."""
    log = log or (lambda message: None)
    todo = frames(app)
    index, sent, retries, consecutive = 0, None, 0, 0
    while True:
        packet = read_packet(port, timeout)
        if packet.command == NEXT:
            if sent is not None:
                if on_bytes:
                    on_bytes(len(sent))
                index += 1
            consecutive = 0
        elif packet.command == RETRY:
            retries += 1
            consecutive += 1
            if consecutive >= MAX_RETRIES:
                raise RetriesExhausted(f"the SVL asked to re-send frame {index + 1} {MAX_RETRIES} times")
            log(f"SVL asked to re-send frame {index + 1} of {len(todo)}")
        else:
            raise Garbled(f"expected NEXT or RETRY from the SVL, got command {packet.command}")
        if index == len(todo):
            port.write(encode(DONE))
            port.flush()
            return retries
        sent = todo[index]
        port.write(encode(FRAME, sent))


def pulse_reset(port, settle: float) -> None:
    """Reset boards whose adapter wires DTR/RTS to RST, then give the SVL time to start listening."""
    try:
        port.dtr = False
        port.rts = False
        time.sleep(0.01 if settle else 0)
        port.dtr = True
        port.rts = True
    except (OSError, ValueError, serial.SerialException):
        pass  # ptys and some adapters have no modem lines: the user taps RST instead
    time.sleep(settle)
