"""Build SparkFun's SVL bootloader (sparkfun/Apollo3_Uploader_SVL, `bootloader/`) from its pinned source into
the cache, for the emulated Edge (`vwwdeploy emulate --board edge --bootloader svl`).

Upstream builds it with a Makefile that expects to sit inside an AmbiqSuite tree next to prebuilt HAL/BSP
libraries. Here the same sources are compiled straight from their dependency directories (nothing is copied):
the SVL's own C files, the SDK's delay/stdio utilities, the BSP templates' startup file and linker script for
0xC000 (the secure bootloader's application address, where the SVL lives), and the HAL from its sources with
the HAL Makefile's defines and -O3 (the prebuilt libam_hal.a is built that way). The SVL's files keep their
Makefile's -O0.

Output: `<cache>/build/svl-<key>/svl.elf` and `svl.bin`, keyed by a hash of every input, so a second build
costs a few hashes; `<cache>/build/svl.json` records the last one (`latest_svl`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.paths import cache_dir

CPU_FLAGS = ["-mthumb", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]
COMMON_FLAGS = CPU_FLAGS + ["-ffunction-sections", "-fdata-sections", "-std=c99", "-g", "-Wall"]
# The SVL Makefile's DEFINES; BGA package and the Apollo3 part as the Edge has them.
SVL_DEFINES = ["-DPART_apollo3", "-DAM_CUSTOM_BDADDR", "-DAM_PACKAGE_BGA", "-DAM_PART_APOLLO3"]
# The HAL Makefile's DEFINES (its -DAM_DEBUG_ASSERT only adds checks that call a weak stub).
HAL_DEFINES = ["-DAM_PART_APOLLO3", "-DAM_ASSERT_INVALID_THRESHOLD=0", "-Dgcc"]
# Room between the SVL's link address and the first SVL application (0x10000).
MAX_SIZE = 0x10000 - 0xC000
RECORD = "svl.json"


@dataclass(frozen=True)
class SvlBuild:
    elf: Path
    bin: Path
    commit: str


def _inputs(found: dict[str, Path]) -> tuple[list[Path], list[Path], list[Path], Path]:
    svl, sdk, bsps = found["svl"], found["ambiqsdk"], found["ambiq_bsps"]
    templates = bsps / "common" / "tools_sfe" / "templates"
    svl_src = sorted((svl / "bootloader" / "src").rglob("*.c"))
    svl_src += [sdk / "utils" / "am_util_delay.c", sdk / "utils" / "am_util_stdio.c", templates / "startup_gcc.c"]
    hal_src = sorted((sdk / "mcu" / "apollo3" / "hal").glob("am_hal_*.c"))
    includes = [svl / "bootloader" / "src"] + sorted(p for p in (svl / "bootloader" / "src").iterdir() if p.is_dir())
    includes += [
        bsps / "edge" / "bsp",
        sdk,
        sdk / "utils",
        sdk / "devices",
        sdk / "mcu" / "apollo3",
        sdk / "CMSIS" / "AmbiqMicro" / "Include",
        sdk / "CMSIS" / "ARM" / "Include",
    ]
    return svl_src, hal_src, includes, templates / "asb_linker.ld"


def _compiler_id() -> str:
    if shutil.which("arm-none-eabi-gcc") is None:
        raise UserError(
            "arm-none-eabi-gcc not found: install Debian's gcc-arm-none-eabi and libnewlib-arm-none-eabi "
            "to build the SVL bootloader"
        )
    out = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.stdout else "?"


def _key(files: list[Path], extra: list[str]) -> str:
    h = hashlib.sha256()
    for part in extra:
        h.update(part.encode() + b"\0")
    for f in files:
        h.update(str(f).encode() + b"\0" + f.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:16]


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if "error" in ln] or proc.stderr.splitlines() or ["?"]
        raise UserError(f"SVL bootloader build failed ({what}): {lines[0].strip()}")


def build_svl(found: dict[str, Path] | None = None, fetch: bool = False) -> SvlBuild:
    """Compile and link the SVL (cached by input hash); UserError with one line if anything is missing."""
    from vwwdeploy.firmware import deps

    found = found or deps.locate(fetch=fetch, names=("svl", "ambiqsdk", "ambiq_bsps"))
    svl_src, hal_src, includes, ld = _inputs(found)
    compiler = _compiler_id()
    inc = [f"-I{p}" for p in includes]
    headers = sorted(p for d in includes for p in d.glob("*.h"))
    key = _key(svl_src + hal_src + headers + [ld], [compiler, *COMMON_FLAGS, *SVL_DEFINES, *HAL_DEFINES])
    out = cache_dir() / "build" / f"svl-{key}"
    elf, binary = out / "svl.elf", out / "svl.bin"
    commit = deps.BY_NAME["svl"].commit
    if not binary.is_file():
        tmp = out.with_name(out.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "obj").mkdir()
        objs = []
        for src in svl_src + hal_src:
            obj = tmp / "obj" / (src.stem + ".o")
            flags = ["-O0", *SVL_DEFINES] if src in svl_src else ["-O3", *HAL_DEFINES]
            _run(["arm-none-eabi-gcc", "-c", *COMMON_FLAGS, *flags, *inc, str(src), "-o", str(obj)], src.name)
            objs.append(str(obj))
        link = [*CPU_FLAGS, "-nostartfiles", "-static", "-Wl,--gc-sections,--entry,Reset_Handler"]
        link += [f"-Wl,-Map,{tmp / 'svl.map'}", f"-Wl,-T,{ld}"]
        _run(["arm-none-eabi-gcc", *link, "-o", str(tmp / "svl.elf"), *objs, "-lm", "-lc", "-lgcc"], "link")
        _run(["arm-none-eabi-objcopy", "-Obinary", str(tmp / "svl.elf"), str(tmp / "svl.bin")], "objcopy")
        shutil.rmtree(tmp / "obj")
        size = (tmp / "svl.bin").stat().st_size
        if size > MAX_SIZE:
            shutil.rmtree(tmp, ignore_errors=True)
            raise UserError(
                f"SVL bootloader build is {size} bytes, more than the {MAX_SIZE} between 0xC000 and 0x10000"
            )
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    from vwwdeploy.atomic import atomic_write_text

    record = {"elf": str(elf), "bin": str(binary), "commit": commit}
    atomic_write_text(cache_dir() / "build" / RECORD, json.dumps(record, indent=2) + "\n")
    return SvlBuild(elf, binary, commit)


def latest_svl() -> Path:
    """The ELF of the last SVL build; UserError naming the command that makes one."""
    rec = cache_dir() / "build" / RECORD
    hint = "build it with `vwwdeploy firmware build --bootloader svl`"
    try:
        elf = Path(json.loads(rec.read_text())["elf"])
    except FileNotFoundError:
        raise UserError(f"no SVL bootloader build: {hint}") from None
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{rec} is damaged: {hint}") from None
    if not elf.is_file():
        raise UserError(f"the SVL bootloader build {elf} is gone: {hint}")
    return elf
