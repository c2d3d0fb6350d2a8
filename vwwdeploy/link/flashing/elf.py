"""ELF -> flat binary, in pure Python, so users need no ARM toolchain to flash an ELF.

Does what `arm-none-eabi-objcopy -O binary` does: every allocated section that has file contents is placed at its
load address (LMA, which differs from its run address for `.data`), gaps are filled with zeros, and the result
starts at the lowest load address.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vwwdeploy.errors import UserError

ELF_MAGIC = b"\x7fELF"
EM_ARM = 40
PT_LOAD = 1
SHT_NOBITS = 8
SHF_ALLOC = 0x2

# e_machine values users are likely to hand us by mistake, for a helpful message.
_MACHINES = {
    3: "x86 (i386)",
    8: "MIPS",
    20: "PowerPC",
    40: "ARM",
    62: "x86-64",
    183: "AArch64 (arm64)",
    243: "RISC-V",
    94: "Xtensa (ESP32)",
    83: "AVR",
}


@dataclass(frozen=True)
class FlatImage:
    data: bytes
    load_address: int
    entry: int


def is_elf(head: bytes) -> bool:
    return head[:4] == ELF_MAGIC


def elf_to_binary(blob: bytes, name: str = "firmware.elf", flash_end: int = 0x100000) -> FlatImage:
    """Flatten an ARM ELF32 into the bytes a bootloader writes; UserError when it is not one for a Cortex-M."""
    if len(blob) < 52 or not is_elf(blob):
        raise UserError(f"{name} is not an ELF file")
    ei_class, ei_data = blob[4], blob[5]
    endian = "<" if ei_data == 1 else ">"
    machine = struct.unpack_from(endian + "H", blob, 18)[0]
    if machine != EM_ARM or ei_class != 1 or ei_data != 1:
        what = _MACHINES.get(machine, f"machine {machine}")
        bits = {1: "32-bit", 2: "64-bit"}.get(ei_class, "?-bit")
        raise UserError(
            f"{name} is an ELF for {what} ({bits}), not for the Edge's ARM Cortex-M4: "
            "pass the firmware built for the sparkfun_edge environment"
        )
    (e_entry, e_phoff, e_shoff, _flags, _ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, _shstrndx) = (
        struct.unpack_from("<IIIIHHHHHH", blob, 24)
    )
    try:
        segments = [struct.unpack_from("<IIIIIIII", blob, e_phoff + i * e_phentsize) for i in range(e_phnum)]
        sections = (
            [struct.unpack_from("<IIIIIIIIII", blob, e_shoff + i * e_shentsize) for i in range(e_shnum)]
            if e_shoff
            else []
        )
    except struct.error:
        raise UserError(f"{name} is a truncated ELF file") from None
    loads = [s for s in segments if s[0] == PT_LOAD and s[4] > 0]
    pieces: list[tuple[int, bytes]] = []
    for _sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, *_ in sections:
        if not (sh_flags & SHF_ALLOC) or sh_type == SHT_NOBITS or sh_size == 0:
            continue
        # The section's load address comes from the segment that holds its file bytes (p_paddr = LMA).
        seg = next((s for s in loads if s[1] <= sh_offset and sh_offset + sh_size <= s[1] + s[4]), None)
        lma = seg[3] + (sh_offset - seg[1]) if seg else sh_addr
        pieces.append((lma, blob[sh_offset : sh_offset + sh_size]))
    if not sections:  # stripped of section headers: fall back to the loadable segments themselves
        pieces = [(s[3], blob[s[1] : s[1] + s[4]]) for s in loads]
    if not pieces:
        raise UserError(f"{name} has no loadable contents")
    outside = [lma for lma, data in pieces if lma + len(data) > flash_end]
    if outside:
        raise UserError(
            f"{name} has load data at 0x{min(outside):08X}, outside the Apollo3's flash "
            f"(0x0-0x{flash_end:X}): is it linked for this board?"
        )
    start = min(lma for lma, _ in pieces)
    end = max(lma + len(data) for lma, data in pieces)
    image = bytearray(end - start)  # objcopy fills gaps with zeros
    for lma, data in pieces:
        image[lma - start : lma - start + len(data)] = data
    return FlatImage(bytes(image), start, e_entry)
