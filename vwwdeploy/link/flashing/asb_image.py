"""The two blob formats the Ambiq secure bootloader (ASB) takes over the wire.

1. The *image blob* (magic 0xCB = non-secure image, 128-byte header): what gets installed at its load address.
2. The *wired-update blob*: the image blob cut into blocks of at most `split` bytes, each behind a 96-byte header
   saying where the block is staged in flash and what to do with the image once it is all there.

Layouts (from AmbiqSuite's `am_defines.py` / `create_cust_*_blob.py`, documented in docs/flashing.md), all words
little-endian. No authentication, no encryption: with both algorithms 0 the bootloader checks only the CRCs.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vwwdeploy.link.flashing.crc import crc32

FLASH_PAGE = 0x2000  # 8 KB
IMAGE_LOAD_ADDRESS = 0xC000  # where the ASB boots a non-secure image
STAGING_ADDRESS = 0x20000  # where the wired update stages the blob (upstream's Edge command line)
OTA_DESCRIPTOR = 0xFE000  # OTA descriptor page, the last pages of the 1 MB flash
DEFAULT_SPLIT = 0x48000  # 288 KB per block, upstream default

# Image blob header (non-secure / "aux" header: 112 + 16 bytes).
MAGIC_NONSECURE = 0xCB
IMAGE_HEADER_SIZE = 128
IMG_OFF_CRC = 4
IMG_OFF_SECURITY = 8
IMG_OFF_ADDR = 112
IMG_OFF_VERSION = 116
IMG_OFF_CHILD0 = 120
IMG_OFF_CHILD1 = 124
NO_CHILD = 0xFFFFFFFF
# Key indexes upstream uses by default (INFO0 keys 8..15); with algorithms 0 they are only recorded.
DEFAULT_AUTH_KEY = 8
DEFAULT_ENC_KEY = 8

# Wired-update block header (96 bytes).
WU_HEADER_SIZE = 96
WU_OFF_IMAGETYPE = 80
WU_OFF_OPTIONS = 81
WU_OFF_KEY = 84
WU_OFF_ADDR = 88
WU_OFF_SIZE = 92
IMAGETYPE_NONSECURE = 6
OPTION_RUN_AFTER_DOWNLOAD = 0x1
FLASH_KEY = 0x12344321

# Largest application the ASB path can take: the blob (header + app) is staged from 0x20000 and must stay below
# the OTA descriptor page.
MAX_APP_SIZE = OTA_DESCRIPTOR - STAGING_ADDRESS - IMAGE_HEADER_SIZE


def pad4(app: bytes) -> bytes:
    """Pad to a whole number of words the way upstream does (n bytes of value n; nothing when aligned)."""
    n = -len(app) % 4
    return app + bytes([n]) * n


def security_word(
    crc_install: bool = True,
    crc_boot: bool = False,
    auth_install: bool = False,
    auth_boot: bool = False,
    auth_algo: int = 0,
    auth_key: int = DEFAULT_AUTH_KEY,
    enc_algo: int = 0,
    enc_key: int = DEFAULT_ENC_KEY,
) -> int:
    """Word 2 of the image header: security flags in the top byte, algorithms and key indexes below."""
    security = (((auth_install << 1) | crc_install) << 4) | (auth_boot << 1) | crc_boot
    return (
        (security << 24)
        | (auth_algo & 0xF)
        | ((auth_key << 4) & 0xF0)
        | ((enc_algo << 8) & 0xF00)
        | ((enc_key << 12) & 0xF000)
    )


def build_image_blob(app: bytes, load_address: int = IMAGE_LOAD_ADDRESS, version: int = 0) -> bytes:
    """Header + word-padded application; the CRC covers everything after the CRC word."""
    if load_address % 4:
        raise ValueError("load address must be word aligned")
    body = pad4(app)
    length = IMAGE_HEADER_SIZE + len(body)
    if length >= 1 << 23:
        raise ValueError("image too large for the 23-bit length field")
    header = bytearray(IMAGE_HEADER_SIZE)
    struct.pack_into("<I", header, 0, (MAGIC_NONSECURE << 24) | length)  # bit 23 (encrypted) = 0
    struct.pack_into("<I", header, IMG_OFF_SECURITY, security_word())
    struct.pack_into("<I", header, IMG_OFF_ADDR, load_address)  # protection bits 0 (none)
    struct.pack_into("<I", header, IMG_OFF_VERSION, version & 0x7FFF)  # erase-previous bit 15 = 0
    struct.pack_into("<II", header, IMG_OFF_CHILD0, NO_CHILD, NO_CHILD)
    struct.pack_into("<I", header, IMG_OFF_CRC, crc32(bytes(header[IMG_OFF_CRC + 4 :]) + body))
    return bytes(header) + body


@dataclass(frozen=True)
class WiredBlock:
    """One block of the wired update: header + its slice of the image blob."""

    index: int
    load_address: int
    data: bytes  # header included; this is what UPDATE announces and DATA carries

    @property
    def payload_size(self) -> int:
        return len(self.data) - WU_HEADER_SIZE


def wired_header(
    size: int,
    load_address: int,
    options: int,
    image_type: int = IMAGETYPE_NONSECURE,
    auth_algo: int = 0,
    auth_key: int = DEFAULT_AUTH_KEY,
    enc_algo: int = 0,
    enc_key: int = DEFAULT_ENC_KEY,
) -> bytes:
    header = bytearray(WU_HEADER_SIZE)
    struct.pack_into(
        "<I",
        header,
        0,
        (auth_algo & 0xF) | ((auth_key << 8) & 0xF00) | ((enc_algo << 16) & 0xF0000) | ((enc_key << 24) & 0x0F000000),
    )
    # 16..79: HMAC, IV, wrapped key: all zero without authentication/encryption.
    header[WU_OFF_IMAGETYPE] = image_type
    header[WU_OFF_OPTIONS] = options
    struct.pack_into("<III", header, WU_OFF_KEY, FLASH_KEY, load_address, size)
    return bytes(header)


def build_wired_update(
    image_blob: bytes,
    load_address: int = STAGING_ADDRESS,
    options: int = OPTION_RUN_AFTER_DOWNLOAD,
    split: int = DEFAULT_SPLIT,
) -> list[WiredBlock]:
    """Cut the image blob into blocks; only the first block carries the options (upstream does the same)."""
    if split <= 0 or split % FLASH_PAGE:
        raise ValueError(f"split must be a positive multiple of the {FLASH_PAGE:#x}-byte flash page")
    body = pad4(image_blob)
    blocks = []
    for index, start in enumerate(range(0, len(body), split)):
        piece = body[start : start + split]
        address = load_address + start
        header = wired_header(len(piece), address, options if start == 0 else 0)
        blocks.append(WiredBlock(index, address, header + piece))
    return blocks


def split_for_storage(max_storage: int) -> int:
    """Largest page-multiple split whose block (header included) fits what the bootloader says it can hold."""
    pages = max(0, (max_storage - WU_HEADER_SIZE) // FLASH_PAGE)
    return min(pages * FLASH_PAGE, DEFAULT_SPLIT)  # 0: not even one page fits
