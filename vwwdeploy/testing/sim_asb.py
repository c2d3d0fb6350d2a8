"""A simulated Ambiq secure bootloader (device side of the UART wired update) on a pty, for tests.

It checks everything a careful bootloader would: every message CRC, sequence numbers, each wired-update block's CRC
and every field of its 96-byte header, and, once all blocks are staged, every field and the CRC of the 128-byte
image header, before "installing" the application into its flash array on RESET. The field checks use the literal
offsets of the documented layouts on purpose, independent of `asb_image`, so a wrong header built there fails.
Any violation is appended to `errors` and answered with a NACK.

Fault injection for tests: `nack_data` (DATA ordinals answered once with a plain failure), `corrupt_data` (DATA
ordinals whose payload gets a flipped bit "on the line"), `reset_after_data` (the board resets after receiving that
DATA: no answer, state lost), `answer=False` (a board not in the bootloader).
"""

from __future__ import annotations

import struct
from binascii import crc32 as _crc32
from collections import Counter

from vwwdeploy.testing.sim_pty import PtyDevice

HELLO, STATUS, OTADESC, UPDATE, ABORT, RECOVER, RESET, ACK, DATA = range(9)
SUCCESS, FAILURE, CRC_ERROR, INVALID_ADDR, INVALID_OPERATION, INVALID_PARAM, SEQUENCE, TOO_MUCH = (
    0,
    1,
    3,
    7,
    8,
    9,
    10,
    11,
)
MSG_TOO_BIG = 5

FLASH_SIZE = 0x100000
BOOT_ADDRESS = 0xC000
STAGING = 0x20000
OTA_PAGE = 0xFE000
PAGE = 0x2000
FLASH_KEY = 0x12344321


def crc32(data: bytes) -> int:
    return _crc32(data) & 0xFFFFFFFF


def _message(msg_type: int, payload: bytes) -> bytes:
    body = struct.pack("<I", ((len(payload) + 8) << 16) | msg_type) + payload
    return struct.pack("<I", crc32(body)) + body


class SimAsb(PtyDevice):
    def __init__(
        self,
        bauds: tuple[int, ...] | None = (921600,),
        max_storage: int = 0x4FFA0,
        version: int = 5,
        answer: bool = True,
        nack_data=(),
        corrupt_data=(),
        reset_after_data: int | None = None,
    ):
        super().__init__(bauds)
        self.max_storage, self.version, self.answer = max_storage, version, answer
        self.nack_data, self.corrupt_data = set(nack_data), set(corrupt_data)
        self.reset_after_data = reset_after_data
        self.flash = bytearray(b"\xff" * FLASH_SIZE)
        self.errors: list[str] = []
        self.received: Counter = Counter()  # message types seen (with a good CRC)
        self.nacks: list[tuple[int, int]] = []  # (message type, status)
        self.data_count = 0
        self.installed: bytes | None = None
        self.booted = False
        self.resets_injected = 0
        self.staged_order: list[int] = []  # staging addresses in the order blocks arrived, across reboots
        self._reboot()

    def _reboot(self) -> None:
        self.greeted = False
        self.ota_descriptor: int | None = None
        self.block: dict | None = None
        self.staged: dict[int, tuple[bytes, int]] = {}  # address -> (payload, options)
        self.image: bytes | None = None  # verified image blob, ready to install

    # -- the device loop -----------------------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            head = self.read_exact(8)
            crc, word = struct.unpack("<II", head)
            length, msg_type = word >> 16, word & 0xFFFF
            if not 8 <= length <= 8192:
                self.errors.append(f"message length {length} outside 8..8192")
                self.discard_input()
                self._nack(msg_type, MSG_TOO_BIG)
                continue
            raw = bytearray(head + self.read_exact(length - 8))
            if msg_type == DATA:
                self.data_count += 1
                if self.data_count in self.corrupt_data:
                    self.corrupt_data.discard(self.data_count)
                    raw[-1] ^= 0x10  # a bit flipped on the line
            if not self.answer:
                continue
            if crc32(bytes(raw[4:])) != crc:
                self._nack(msg_type, CRC_ERROR)
                continue
            self.received[msg_type] += 1
            if msg_type == DATA and self.data_count == self.reset_after_data:
                self.reset_after_data = None
                self.resets_injected += 1
                self._reboot()  # the board reset mid-transfer: no answer, everything in RAM lost
                continue
            self._dispatch(msg_type, bytes(raw[8:]))

    def _ack(self, msg_type: int, status: int = SUCCESS, sequence: int = 0) -> None:
        if status != SUCCESS:
            self.nacks.append((msg_type, status))
        self.write(_message(ACK, struct.pack("<III", msg_type, status, sequence)))

    def _nack(self, msg_type: int, status: int, sequence: int = 0) -> None:
        self._ack(msg_type, status, sequence)

    def _dispatch(self, msg_type: int, payload: bytes) -> None:
        if msg_type == HELLO:
            self.greeted = True
            self.block = None
            words = [self.version, self.max_storage, 0, 1] + [0] * 16
            self.write(_message(STATUS, struct.pack("<20I", *words)))
            return
        if not self.greeted:
            self.errors.append(f"message type {msg_type} before HELLO")
            return self._nack(msg_type, INVALID_OPERATION)
        handler = {
            OTADESC: self._otadesc,
            UPDATE: self._update,
            DATA: self._data,
            RESET: self._reset,
            ABORT: self._abort,
        }.get(msg_type)
        if handler is None:
            self.errors.append(f"unexpected message type {msg_type}")
            return self._nack(msg_type, 6)
        handler(payload)

    # -- commands --------------------------------------------------------------------------------------------------
    def _otadesc(self, payload: bytes) -> None:
        if len(payload) != 4:
            return self._nack(OTADESC, INVALID_PARAM)
        (address,) = struct.unpack("<I", payload)
        if address != 0xFFFFFFFF and (address % PAGE or address >= FLASH_SIZE):
            self.errors.append(f"OTA descriptor 0x{address:X} is not a flash page")
            return self._nack(OTADESC, INVALID_ADDR)
        self.ota_descriptor = address
        self._ack(OTADESC)

    def _abort(self, payload: bytes) -> None:
        self.block = None
        self._ack(ABORT)

    def _update(self, payload: bytes) -> None:
        if len(payload) != 12:
            self.errors.append(f"UPDATE payload of {len(payload)} bytes, expected 12")
            return self._nack(UPDATE, INVALID_PARAM)
        length, crc, piggyback = struct.unpack("<III", payload)
        if piggyback != 0:
            self.errors.append("UPDATE word 3 (piggybacked data size) is not 0")
            return self._nack(UPDATE, INVALID_PARAM)
        if length <= 96:
            self.errors.append(f"UPDATE announces {length} bytes: not even a block header")
            return self._nack(UPDATE, INVALID_PARAM)
        if length > self.max_storage:
            self.errors.append(f"UPDATE announces {length} bytes, more than max storage {self.max_storage}")
            return self._nack(UPDATE, TOO_MUCH)
        self.block = {"length": length, "crc": crc, "data": bytearray()}
        self._ack(UPDATE)

    def _data(self, payload: bytes) -> None:
        (sequence,) = struct.unpack_from("<I", payload)
        chunk = payload[4:]
        if self.block is None:
            self.errors.append("DATA without UPDATE")
            return self._nack(DATA, INVALID_OPERATION, sequence)
        if self.data_count in self.nack_data:
            self.nack_data.discard(self.data_count)
            return self._nack(DATA, FAILURE, sequence)
        data = self.block["data"]
        if sequence != len(data):
            self.errors.append(f"DATA sequence {sequence}, expected {len(data)}")
            return self._nack(DATA, SEQUENCE, sequence)
        if len(data) + len(chunk) > self.block["length"]:
            self.errors.append("DATA beyond the length UPDATE announced")
            return self._nack(DATA, TOO_MUCH, sequence)
        data += chunk
        if len(data) < self.block["length"]:
            return self._ack(DATA, SUCCESS, sequence)
        expected_crc, self.block = self.block["crc"], None
        block = bytes(data)
        if crc32(block) != expected_crc:
            self.errors.append("block CRC does not match the CRC UPDATE announced")
            return self._nack(DATA, CRC_ERROR, sequence)
        problems = check_wired_header(block, self.max_storage)
        if not problems:
            address, size = struct.unpack_from("<II", block, 88)
            self.staged[address] = (block[96 : 96 + size], block[81])
            self.staged_order.append(address)
            problems = self._try_assemble()
        if problems:
            self.errors.extend(problems)
            return self._nack(DATA, INVALID_PARAM, sequence)
        self._ack(DATA, SUCCESS, sequence)

    def _try_assemble(self) -> list[str]:
        """Once the staged blocks cover the whole image blob, verify it (upstream sends the last block first)."""
        if STAGING not in self.staged:
            return []
        blob, address = bytearray(), STAGING
        while address in self.staged:
            payload, _ = self.staged[address]
            blob += payload
            address += len(payload)
        if len(blob) < 4:
            return []
        declared = struct.unpack_from("<I", blob)[0] & 0x7FFFFF
        if len(blob) < declared:
            return []  # more blocks to come
        if self.staged[STAGING][1] & 1 == 0:
            return ["first wired-update block lacks option bit 0 (run OTA after download)"]
        problems = check_image_blob(bytes(blob))
        if not problems:
            self.image = bytes(blob)
        return problems

    def _reset(self, payload: bytes) -> None:
        (mode,) = struct.unpack("<I", payload) if len(payload) == 4 else (0,)
        if mode not in (1, 2):
            self.errors.append(f"RESET mode {mode}, expected 1 (POI) or 2 (POR)")
            return self._nack(RESET, INVALID_PARAM)
        self._install()  # before the ACK, so a host that has its ACK can look at the result
        self._ack(RESET)
        self._reboot()

    def _install(self) -> None:
        if self.image is None:
            self.errors.append("RESET before a complete, verified image was staged")
            return
        if self.ota_descriptor in (None, 0xFFFFFFFF):
            self.errors.append("no OTA descriptor: the bootloader would not install the image")
            return
        length = struct.unpack_from("<I", self.image)[0] & 0x7FFFFF
        app = self.image[128:length]
        self.flash[BOOT_ADDRESS : BOOT_ADDRESS + len(app)] = app
        self.installed = app
        self.booted = True
        self.finished.set()


def check_wired_header(block: bytes, max_storage: int) -> list[str]:
    """Every field of a 96-byte wired-update block header, by its documented offset."""
    problems = []
    (w0,) = struct.unpack_from("<I", block, 0)
    if w0 & 0xF or (w0 >> 16) & 0xF:
        problems.append(f"wired header @0: auth/enc algorithm set (0x{w0:08X}) on a board without keys")
    if not 8 <= (w0 >> 8) & 0xF <= 15 or not 8 <= (w0 >> 24) & 0xF <= 15:
        problems.append(f"wired header @0: key indexes outside INFO0's 8..15 (0x{w0:08X})")
    if w0 & 0xF0F0F0F0:
        problems.append(f"wired header @0: reserved bits set (0x{w0:08X})")
    if any(block[4:80]):
        problems.append("wired header @4..79: reserved/HMAC/IV/KEK not zero without authentication or encryption")
    if block[80] != 6:
        problems.append(f"wired header @80: image type {block[80]}, expected 6 (non-secure)")
    if block[82:84] != b"\0\0":
        problems.append("wired header @82..83: reserved bytes not zero")
    key, address, size = struct.unpack_from("<III", block, 84)
    if key != FLASH_KEY:
        problems.append(f"wired header @84: key 0x{key:08X}, expected the flash key 0x{FLASH_KEY:08X}")
    first = address == STAGING
    if first and block[81] != 1:
        problems.append(f"wired header @81: options 0x{block[81]:02X} on the first block, expected 0x01")
    if not first and block[81] != 0:
        problems.append(f"wired header @81: options 0x{block[81]:02X} on a later block, expected 0")
    if address % PAGE or address < STAGING or address + size > OTA_PAGE:
        problems.append(f"wired header @88: load address 0x{address:X} not a page in 0x{STAGING:X}..0x{OTA_PAGE:X}")
    if size != len(block) - 96:
        problems.append(f"wired header @92: size {size}, but the block carries {len(block) - 96} bytes")
    if size % 4:
        problems.append(f"wired header @92: size {size} not a whole number of words")
    return problems


def check_image_blob(blob: bytes) -> list[str]:
    """Every field of a 128-byte non-secure (0xCB) image header, and its CRC."""
    problems = []
    if len(blob) < 128:
        return [f"image blob of {len(blob)} bytes is shorter than its 128-byte header"]
    w0, crc, w2, w3 = struct.unpack_from("<IIII", blob, 0)
    magic, encrypted, length = w0 >> 24, (w0 >> 23) & 1, w0 & 0x7FFFFF
    if magic != 0xCB:
        problems.append(f"image header @0: magic 0x{magic:02X}, expected 0xCB (non-secure)")
    if encrypted:
        problems.append("image header @0: encrypted bit set")
    if length != len(blob):
        problems.append(f"image header @0: length {length}, but {len(blob)} bytes were staged")
    if length % 4 or length <= 128:
        problems.append(f"image header @0: length {length} not a whole number of words beyond the header")
    if crc != crc32(blob[8:length]):
        problems.append("image header @4: CRC-32 of bytes 8..end does not match")
    security, algos = w2 >> 24, w2 & 0xFFFFFF
    if security != 0x10:
        problems.append(f"image header @8: security byte 0x{security:02X}, expected 0x10 (install CRC only)")
    if algos & 0xF or (algos >> 8) & 0xF:
        problems.append(f"image header @8: auth/enc algorithm set (0x{w2:08X}) on a board without keys")
    if not 8 <= (algos >> 4) & 0xF <= 15 or not 8 <= (algos >> 12) & 0xF <= 15:
        problems.append(f"image header @8: key indexes outside INFO0's 8..15 (0x{w2:08X})")
    if algos & 0xFF0000:
        problems.append(f"image header @8: reserved bits set (0x{w2:08X})")
    if w3:
        problems.append(f"image header @12: reserved word 0x{w3:08X}, expected 0")
    if any(blob[16:112]):
        problems.append("image header @16..111: signature/IV/KEK/SIGCLR not zero without authentication")
    address, version, child0, child1 = struct.unpack_from("<IIII", blob, 112)
    if address & ~3 != BOOT_ADDRESS:
        problems.append(f"image header @112: load address 0x{address & ~3:X}, expected 0x{BOOT_ADDRESS:X}")
    if address & 3:
        problems.append(f"image header @112: protection bits {address & 3} set")
    if version >> 15:
        problems.append(f"image header @116: erase-previous/reserved bits set (0x{version:08X})")
    if child0 != 0xFFFFFFFF or child1 != 0xFFFFFFFF:
        problems.append(f"image header @120/@124: child pointers 0x{child0:X}/0x{child1:X}, expected none")
    if BOOT_ADDRESS + length - 128 > OTA_PAGE:
        problems.append("image does not fit between 0xC000 and the OTA descriptor page")
    return problems
