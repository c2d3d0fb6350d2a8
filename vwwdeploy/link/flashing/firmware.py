"""Load what the user wants flashed: a raw .bin or an ELF (flattened in pure Python), and sanity-check it."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.link.flashing import asb_image, svl_protocol
from vwwdeploy.link.flashing.elf import elf_to_binary, is_elf

# Where each bootloader puts the application.
LOAD_ADDRESS = {"asb": asb_image.IMAGE_LOAD_ADDRESS, "svl": svl_protocol.APP_ADDRESS}
MAX_SIZE = {"asb": asb_image.MAX_APP_SIZE, "svl": svl_protocol.MAX_APP_SIZE}
SRAM = (0x10000000, 0x10060000)  # Apollo3 TCM + SRAM, 384 KB: the initial stack pointer points in here


@dataclass(frozen=True)
class Firmware:
    name: str
    data: bytes
    load_address: int | None  # known for an ELF; a .bin does not say


def load(path: str | Path) -> Firmware:
    path = Path(path)
    if not path.exists():
        raise UserError(f"firmware file {path} does not exist (build it first: vwwdeploy firmware build)")
    if path.is_dir():
        raise UserError(f"{path} is a directory; pass the firmware .bin or .elf inside it")
    blob = path.read_bytes()
    if is_elf(blob):
        flat = elf_to_binary(blob, path.name)
        return Firmware(path.name, flat.data, flat.load_address)
    suffix = path.suffix.lower()
    if suffix != ".bin":
        kind = {".hex": "an Intel HEX file", ".uf2": "a UF2 file", ".tflite": "a TFLite model"}.get(
            suffix, f"a '{suffix}' file" if suffix else "neither an ELF nor a .bin"
        )
        raise UserError(
            f"{path.name} is {kind}, not a firmware image: pass the .bin or .elf from the build "
            "(e.g. .pio/vwwdeploy/sparkfun_edge/firmware.elf)"
        )
    if not blob:
        raise UserError(f"{path.name} is empty")
    return Firmware(path.name, blob, None)


def _vectors(fw: Firmware) -> tuple[int, ...]:
    """Initial stack pointer, then the reset and exception handlers (the first 16 words of a Cortex-M image)."""
    if len(fw.data) < 8:
        raise UserError(f"{fw.name} is only {len(fw.data)} bytes: too small to be firmware")
    count = min(16, len(fw.data) // 4)
    return struct.unpack_from(f"<{count}I", fw.data)


def _handlers(fw: Firmware) -> list[int]:
    # Reserved entries are 0 (or erased 0xFFFFFFFF); real handlers are Thumb addresses (bit 0 set).
    words = _vectors(fw)
    return [w & ~1 for w in words[1:] if w & 1 and w != 0xFFFFFFFF] or [words[1]]


def _fits(fw: Firmware, base: int) -> bool:
    reset = _vectors(fw)[1]
    return bool(reset & 1) and all(base <= h < base + len(fw.data) for h in _handlers(fw))


def choose_protocol(fw: Firmware, requested: str | None) -> str:
    """Pick asb/svl from the image's link address, and refuse combinations that could never boot."""
    stack = _vectors(fw)[0]
    if not SRAM[0] <= stack <= SRAM[1]:
        raise UserError(
            f"{fw.name} does not start with a Cortex-M vector table (initial stack pointer "
            f"0x{stack:08X} is not in the Apollo3's SRAM): is it really the firmware .bin?"
        )
    if fw.load_address is not None:
        linked = [p for p, base in LOAD_ADDRESS.items() if base == fw.load_address]
        if not linked:
            raise UserError(
                f"{fw.name} is linked at 0x{fw.load_address:X}, but the ASB installs at 0xC000 and "
                "the SVL at 0x10000: build it for one of them"
            )
        if requested and requested != linked[0]:
            raise UserError(
                f"{fw.name} is linked at 0x{fw.load_address:X} for the {linked[0].upper()}, not the "
                f"{requested.upper()} (0x{LOAD_ADDRESS[requested]:X}): pass --protocol {linked[0]} "
                "or rebuild"
            )
        return linked[0]
    fits = [p for p, base in LOAD_ADDRESS.items() if _fits(fw, base)]
    if requested:
        if requested not in fits:
            raise UserError(
                f"{fw.name}'s vector table points outside the image when it is placed at "
                f"0x{LOAD_ADDRESS[requested]:X} ({requested.upper()}): it is built for another "
                "load address"
            )
        return requested
    if not fits:
        raise UserError(
            f"{fw.name}'s vector table points outside the image at both 0xC000 (ASB) and 0x10000 "
            "(SVL): is it built for the SparkFun Edge?"
        )
    # Both fit only when every handler lies above 0x10000. An image linked at 0xC000 keeps its startup code
    # right after its vector table, below 0x10000, so "fits both" means linked for the SVL.
    return "svl" if "svl" in fits else fits[0]


def ambiguous(fw: Firmware) -> bool:
    """A .bin whose reset vector makes sense at both load addresses."""
    return all(_fits(fw, base) for base in LOAD_ADDRESS.values())


def check_size(fw: Firmware, protocol: str) -> None:
    limit = MAX_SIZE[protocol]
    if len(fw.data) > limit:
        where = (
            "staged at 0x20000 below the OTA descriptor page at 0xFE000"
            if protocol == "asb"
            else "from 0x10000 to the end of the 1 MB flash"
        )
        raise UserError(
            f"{fw.name} is {len(fw.data):,} bytes but only {limit:,} fit the Edge's flash with the "
            f"{protocol.upper()} ({where})"
        )
