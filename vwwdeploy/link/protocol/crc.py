"""The two checksums of the frame format (docs/protocol.md section 1)."""

from __future__ import annotations

import zlib


def _make_crc16_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC16_TABLE = _make_crc16_table()


def crc16_ccitt_false(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR (check 0x29B1)."""
    table = _CRC16_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ byte) & 0xFF]
    return crc


def crc32(data: bytes, crc: int = 0) -> int:
    """CRC-32 as IEEE 802.3 / zlib (reflected 0x04C11DB7, init and final XOR 0xFFFFFFFF; check 0xCBF43926)."""
    return zlib.crc32(data, crc) & 0xFFFFFFFF
