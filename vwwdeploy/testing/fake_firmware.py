"""Plausible stand-in firmware for tests and demos: a Cortex-M vector table followed by random bytes, as a flat
binary or wrapped in a small ARM ELF (`.text` in flash, `.data` run from SRAM but loaded right after `.text`)."""

from __future__ import annotations

import random
import struct

STACK_TOP = 0x10008000


def fake_binary(size: int, base: int = 0xC000, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    data = bytearray(rng.randbytes(max(size, 8)))[:size]
    # Initial SP, then reset and exception handlers just after the vector table (Thumb: bit 0 set), with the
    # entries Cortex-M reserves left 0, like a linked image.
    vectors = [STACK_TOP] + [0 if i in (7, 8, 9, 10, 13) else base + 0x201 + 4 * i for i in range(1, 16)]
    data[: min(64, size)] = struct.pack("<16I", *vectors)[: min(64, size)]
    return bytes(data)


def fake_elf(
    text: bytes, data: bytes = b"", base: int = 0xC000, machine: int = 40, data_vma: int = 0x10000000
) -> bytes:
    """An ELF32 little-endian executable with a PT_LOAD per section and section headers, as a linker writes."""
    ehsize, phentsize, shentsize = 52, 32, 40
    sections = [(".text", 1, 0x6, base, text)]  # PROGBITS, ALLOC|EXECINSTR
    if data:
        sections.append((".data", 1, 0x3, data_vma, data))  # PROGBITS, WRITE|ALLOC
    sections.append((".bss", 8, 0x3, data_vma + len(data), b""))  # NOBITS
    phnum = len([s for s in sections if s[4]])
    offset = ehsize + phnum * phentsize
    body, placed = bytearray(), []
    lma = base
    for name, sh_type, flags, vma, content in sections:
        placed.append((name, sh_type, flags, vma, offset + len(body), len(content) or 0x100, lma, content))
        body += content
        lma += len(content)
    shstrtab = b"\0" + b"\0".join(s[0].encode() for s in sections) + b"\0.shstrtab\0"
    shstr_off = offset + len(body)
    shoff = shstr_off + len(shstrtab)
    shoff += -shoff % 4
    header = bytearray(ehsize)
    header[:16] = b"\x7fELF\x01\x01\x01" + bytes(9)
    struct.pack_into(
        "<HHIIIIIHHHHHH",
        header,
        16,
        2,
        machine,
        1,
        base + 0x201,
        ehsize,
        shoff,
        0x05000400,
        ehsize,
        phentsize,
        phnum,
        shentsize,
        len(sections) + 2,
        len(sections) + 1,
    )
    phdrs = bytearray()
    for _name, _sh_type, _flags, vma, off, _size, lma, content in placed:
        if content:
            phdrs += struct.pack("<IIIIIIII", 1, off, vma, lma, len(content), len(content), 7, 4)
    shdrs = bytearray(shentsize)  # the null section
    name_at = 1
    for name, sh_type, flags, vma, off, size, _lma, _content in placed:
        shdrs += struct.pack("<IIIIIIIIII", name_at, sh_type, flags, vma, off, size, 0, 0, 4, 0)
        name_at += len(name) + 1
    shdrs += struct.pack("<IIIIIIIIII", name_at, 3, 0, 0, shstr_off, len(shstrtab), 0, 0, 1, 0)
    out = header + phdrs + body + shstrtab
    out += bytes(shoff - len(out))
    return bytes(out + shdrs)
