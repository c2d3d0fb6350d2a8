"""Flash and RAM use of a built firmware image, against the SparkFun Edge's limits.

Flash = every section stored in flash (code, read-only data including the model, and the initial
values of .data). RAM = .data + .bss: all statically allocated memory, which includes the TFLM
arena, the camera frame and the UART buffers (nothing is heap-allocated); the stack takes the rest.

The report also lists the vendor HM01B0 camera driver's functions that were linked (`hm01b0_*`, compiled
from the Edge BSP by the build), from the ELF's symbol table: proof the board runs the vendor's code.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.targets import EDGE

FLASH_LIMIT = EDGE.app_flash_bytes
RAM_LIMIT = EDGE.sram_bytes
FLASH_TARGET = 450_000  # issue 5: whole firmware with the ~300 KB upstream model
RAM_SECTIONS = (".data", ".bss")
NOLOAD_SECTIONS = (".bss", ".heap", ".dmz", ".stack")
VENDOR_PREFIX = "hm01b0_"


@dataclass
class SizeReport:
    env: str
    elf: str
    flash: int
    ram: int
    arena: int | None
    model: int | None
    vendor_symbols: dict[str, int] = field(default_factory=dict)  # linked hm01b0_* function: bytes
    flash_limit: int = FLASH_LIMIT
    ram_limit: int = RAM_LIMIT

    def fits(self) -> bool:
        return self.flash <= self.flash_limit and self.ram <= self.ram_limit

    def lines(self) -> list[str]:
        def row(name: str, used: int, limit: int) -> str:
            return f"{name:<6}{used:>10,} B of {limit:>9,} B ({100.0 * used / limit:5.1f}%)"

        out = [
            f"{self.env}: {self.elf}",
            row("flash", self.flash, self.flash_limit),
            row("RAM", self.ram, self.ram_limit),
        ]
        if self.model is not None:
            out.append(f"  model data {self.model:,} B (in flash)")
        if self.arena is not None:
            out.append(f"  TFLM arena {self.arena:,} B (in RAM)")
        if self.vendor_symbols:
            names = ", ".join(sorted(self.vendor_symbols))
            total = sum(self.vendor_symbols.values())
            out.append(f"  HM01B0 vendor driver {total:,} B: {names}")
        return out

    def as_dict(self) -> dict:
        return asdict(self)


def _binutils(name: str, *args: str, elf: Path) -> str:
    """stdout of an arm-none-eabi binutils tool run on `elf`, or one line saying why it could not run."""
    tool = shutil.which(name)
    if tool is None:
        raise UserError(f"{name} not found: install Debian's binutils-arm-none-eabi")
    proc = subprocess.run([tool, *args, str(elf)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise UserError(f"{elf}: not a readable ELF file ({proc.stderr.strip()})")
    return proc.stdout


def sections(elf: Path) -> dict[str, tuple[int, int]]:
    """{name: (size, address)} of the allocated sections, from `arm-none-eabi-size -A`."""
    found = {}
    for line in _binutils("arm-none-eabi-size", "-A", "-d", elf=elf).splitlines():
        m = re.match(r"^(\.\S+)\s+(\d+)\s+(\d+)\s*$", line)
        if m and int(m.group(3)) != 0:
            found[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return found


def vendor_symbols(elf: Path, prefix: str = VENDOR_PREFIX) -> dict[str, int]:
    """{name: size} of the functions in the ELF whose name starts with `prefix` (from `arm-none-eabi-nm`)."""
    found = {}
    for line in _binutils("arm-none-eabi-nm", "-S", "--defined-only", elf=elf).splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "Tt" and parts[3].startswith(prefix):
            found[parts[3]] = int(parts[1], 16)
    return found


def _settings_value(settings: Path | None, name: str) -> int | None:
    if settings is None or not settings.is_file():
        return None
    m = re.search(rf"constexpr int {name} = (\d+);", settings.read_text(encoding="utf-8"))
    return int(m.group(1)) if m else None


def measure(elf: Path, env: str, settings: Path | None = None, model_bytes: int | None = None) -> SizeReport:
    if not elf.is_file():
        raise UserError(f"{elf} does not exist: build first with `vwwdeploy firmware build --env {env}`")
    secs = sections(elf)
    flash = sum(size for name, (size, _) in secs.items() if name not in NOLOAD_SECTIONS)
    ram = sum(secs.get(name, (0, 0))[0] for name in RAM_SECTIONS)
    return SizeReport(
        env=env,
        elf=str(elf),
        flash=flash,
        ram=ram,
        arena=_settings_value(settings, "kArenaSize"),
        model=model_bytes,
        vendor_symbols=vendor_symbols(elf),
    )


def write_report(report: SizeReport, path: Path) -> None:
    from vwwdeploy.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(report.as_dict(), indent=2) + "\n")
