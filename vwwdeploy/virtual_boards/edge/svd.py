"""Register names and reset values of the Apollo3, read from the pinned SDK's apollo3.svd."""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ...errors import UserError
from ...paths import cache_dir


@dataclass(frozen=True)
class Register:
    peripheral: str
    name: str
    address: int
    reset: int
    base: int


def svd_path() -> Path:
    return cache_dir() / "src" / "ambiqsdk" / "pack" / "SVD" / "apollo3.svd"


@lru_cache(maxsize=1)
def registers() -> dict[int, Register]:
    """Every register of the SVD by absolute address (derived peripherals such as IOM1..5 included)."""
    from cmsis_svd.parser import SVDParser

    if not svd_path().is_file():
        raise UserError(
            f"the Apollo3 register map {svd_path()} is missing: fetch the SDK with `vwwdeploy firmware deps`"
        )
    device = SVDParser.for_xml_file(str(svd_path())).get_device()
    out: dict[int, Register] = {}
    for per in device.peripherals:
        for reg in per.registers:
            addr = per.base_address + reg.address_offset
            out[addr] = Register(per.name, reg.name, addr, reg.reset_value or 0, per.base_address)
    return out


def name_of(address: int) -> str:
    reg = registers().get(address & ~3)
    return f"{reg.peripheral}.{reg.name}" if reg else "no SVD register"


def offsets(peripheral: str) -> dict[str, tuple[int, int]]:
    """{register name: (offset, reset value)} of one peripheral."""
    regs = [r for r in registers().values() if r.peripheral == peripheral]
    return {r.name: (r.address - r.base, r.reset) for r in regs}
