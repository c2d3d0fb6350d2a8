"""The two checksums the Apollo3 bootloaders use.

- CRC-32 (the Ethernet/zlib one, reflected, poly 0x04C11DB7): every ASB message and both ASB blob headers.
- CRC-16/UMTS (a.k.a. BUYPASS: poly 0x8005, init 0, MSB first, no reflection, no final XOR): SVL packets. The CRC is
  appended big-endian, so running the CRC over a whole packet (command + data + CRC) gives 0.
"""

from __future__ import annotations

import binascii


def crc32(data: bytes | bytearray | memoryview) -> int:
    return binascii.crc32(data) & 0xFFFFFFFF


def _crc16_table(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ poly) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE_8005 = _crc16_table(0x8005)


def crc16_umts(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    for byte in bytes(data):
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE_8005[(crc >> 8) ^ byte]
    return crc
