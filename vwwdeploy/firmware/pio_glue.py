"""Local-path glue that lets PlatformIO build the Edge firmware with no registry access.

The repo's `platformio.ini` names the platform and framework by git URL at pinned commits, so it
stays portable. `vwwdeploy firmware build` instead runs `pio run -c <cache>/pio/platformio.ini`,
a copy of the repo's file with each environment pointed at local directories prepared here:

- `platform-apollo3blue/`: the pinned nigelb/platform-apollo3blue, adapted to PlatformIO 6
  (its platform.json says `platformio <5` and platform.py imports `platformio.managers.platform`,
  both gone in 6.x; nothing else is changed);
- `packages/framework-ambiqsuitesdkapollo3-sfe/`: symlinks to SparkFun's AmbiqSuite SDK with the
  pinned boards_sfe BSPs in place of its git submodule, plus the package.json PlatformIO wants;
- `packages/toolchain-gccarmnoneeabi/`: the installed arm-none-eabi toolchain (e.g. Debian's)
  presented as that PlatformIO package (bin/ symlinks + package.json);
- `core/packages/tool-scons/`: SCons from PyPI (the `scons` package) as PlatformIO's core package
  `tool-scons`, when PlatformIO's own copy is not installed (PLATFORMIO_CORE_DIR = `core/`).
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.paths import cache_dir

FRAMEWORK_PKG = "framework-ambiqsuitesdkapollo3-sfe"
TOOLCHAIN_PKG = "toolchain-gccarmnoneeabi"
SCONS_PKG_VERSION = "4.41101.0"  # PlatformIO 6.1.x/6.2 ask for tool-scons ~4.41101.0 (= SCons 4.11.1)
SDK_VERSION = "2.5.1"
BUILD_DIR = ".pio/vwwdeploy"  # relative to the project (repo) root; .pio/ is git-ignored


@dataclass
class Glue:
    root: Path
    core_dir: Path
    platform_dir: Path
    framework_dir: Path
    toolchain_dir: Path | None
    ini: Path


def glue_root() -> Path:
    return cache_dir() / "pio"


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def _fresh(path: Path) -> Path:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def adapt_platform(src: Path, dest: Path) -> Path:
    _fresh(dest)
    shutil.copytree(src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
    manifest = json.loads((dest / "platform.json").read_text())
    manifest.get("engines", {}).pop("platformio", None)
    _write_json(dest / "platform.json", manifest)
    py = dest / "platform.py"
    text = py.read_text()
    text = text.replace(
        "from platformio.managers.platform import PlatformBase", "from platformio.platform.base import PlatformBase"
    )
    py.write_text(text)
    return dest


def compose_framework(sdk: Path, bsps: Path, dest: Path) -> Path:
    _fresh(dest)
    for entry in sdk.iterdir():
        if entry.name in ("boards_sfe", ".git", "package.json"):
            continue
        (dest / entry.name).symlink_to(entry.resolve())
    (dest / "boards_sfe").symlink_to(bsps.resolve())
    _write_json(
        dest / "package.json",
        {
            "name": FRAMEWORK_PKG,
            "version": SDK_VERSION,
            "description": "SparkFun AmbiqSuite SDK with boards_sfe (assembled by vwwdeploy)",
        },
    )
    return dest


def toolchain_version(gcc: str) -> str:
    out = subprocess.run([gcc, "-dumpfullversion"], capture_output=True, text=True).stdout.strip()
    parts = (re.findall(r"\d+", out) + ["0", "0", "0"])[:3]
    # PlatformIO's toolchain versions look like 1.MMmmpp.0 (e.g. 1.120301.0 for GCC 12.3.1).
    return f"1.{int(parts[0])}{int(parts[1]):02d}{int(parts[2]):02d}.0"


def present_toolchain(dest: Path) -> Path | None:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        return None  # PlatformIO will fetch its own from the registry (needs internet)
    bindir = Path(gcc).resolve().parent
    _fresh(dest)
    (dest / "bin").mkdir()
    for tool in sorted(bindir.glob("arm-none-eabi-*")):
        (dest / "bin" / tool.name).symlink_to(tool)
    _write_json(
        dest / "package.json",
        {
            "name": TOOLCHAIN_PKG,
            "version": toolchain_version(gcc),
            "system": "*",
            "description": f"arm-none-eabi toolchain from {bindir}",
        },
    )
    return dest


def install_scons(core_dir: Path) -> None:
    pkg = core_dir / "packages" / "tool-scons"
    if (pkg / ".piopm").is_file():
        return
    try:
        import SCons  # noqa: F401  (from PyPI `scons`)
    except ImportError:
        return  # PlatformIO installs its own tool-scons when it can reach its registry
    _fresh(pkg)
    shutil.copytree(Path(SCons.__file__).parent, pkg / "SCons", ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "scons.py").write_text(
        "# Entry point PlatformIO runs: `python scons.py ...` (SCons from PyPI, see pio_glue.py).\n"
        "import os, sys\n"
        "sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\n"
        "import SCons.Script\n"
        "SCons.Script.main()\n"
    )
    _write_json(
        pkg / "package.json",
        {"name": "tool-scons", "version": SCONS_PKG_VERSION, "description": "SCons (PyPI) for PlatformIO"},
    )
    # PlatformIO asks for `platformio/tool-scons`; the owner lives only in its install metadata.
    _write_json(
        pkg / ".piopm",
        {
            "type": "tool",
            "name": "tool-scons",
            "version": SCONS_PKG_VERSION,
            "spec": {"owner": "platformio", "id": None, "name": "tool-scons", "requirements": None, "uri": None},
        },
    )


def write_ini(repo_ini: Path, dest: Path, glue: Glue) -> Path:
    """The repo's platformio.ini with platform/packages replaced by the local ones."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    parser.optionxform = str  # keep option names as written
    parser.read(repo_ini, encoding="utf-8")
    packages = [f"{FRAMEWORK_PKG}@symlink://{glue.framework_dir}"]
    if glue.toolchain_dir is not None:
        packages.append(f"{TOOLCHAIN_PKG}@symlink://{glue.toolchain_dir}")
    # Our own build folder: PlatformIO wipes a build folder whenever the configuration that uses it
    # changes, so sharing .pio/build with plain `pio run` (or another board's config) would throw
    # away the other's objects at each alternation.
    if not parser.has_section("platformio"):
        parser.add_section("platformio")
    parser.set("platformio", "build_dir", BUILD_DIR)
    for section in parser.sections():
        if section.startswith("env:") or parser.has_option(section, "platform"):
            parser.set(section, "platform", f"symlink://{glue.platform_dir}")
            parser.set(section, "platform_packages", "\n" + "\n".join(packages))
    with dest.open("w", encoding="utf-8") as fh:
        fh.write(f"; Generated by vwwdeploy from {repo_ini}; do not edit (regenerated on each build).\n")
        parser.write(fh)
    return dest


def _once(dest: Path, key: dict, make) -> Path | None:
    """Run make(dest) unless dest was made from the same inputs: rebuilding a package directory
    under a PlatformIO run that is using it (another env, another helper) would break that run."""
    stamp = dest.parent / f".{dest.name}.vwwdeploy.json"
    text = json.dumps(key, sort_keys=True)
    if stamp.is_file() and stamp.read_text() == text and dest.exists():
        return dest
    made = make(dest)
    stamp.write_text(text)
    return made


def prepare(found: dict[str, Path], repo_ini: Path) -> Glue:
    root = glue_root()
    root.mkdir(parents=True, exist_ok=True)
    (root / "packages").mkdir(exist_ok=True)
    core = root / "core"
    (core / "packages").mkdir(parents=True, exist_ok=True)
    install_scons(core)
    platform_src = found["platform_apollo3blue"]
    gcc = shutil.which("arm-none-eabi-gcc")
    glue = Glue(
        root=root,
        core_dir=core,
        platform_dir=_once(
            root / "platform-apollo3blue", {"src": str(platform_src), "v": 1}, lambda d: adapt_platform(platform_src, d)
        ),
        framework_dir=_once(
            root / "packages" / FRAMEWORK_PKG,
            {"sdk": str(found["ambiqsdk"]), "bsps": str(found["ambiq_bsps"]), "v": 1},
            lambda d: compose_framework(found["ambiqsdk"], found["ambiq_bsps"], d),
        ),
        toolchain_dir=(
            _once(root / "packages" / TOOLCHAIN_PKG, {"gcc": str(Path(gcc).resolve()), "v": 1}, present_toolchain)
            if gcc
            else None
        ),
        ini=root / "platformio.ini",
    )
    tmp_ini = glue.ini.with_suffix(".ini.partial")
    write_ini(repo_ini, tmp_ini, glue)
    tmp_ini.replace(glue.ini)
    return glue


def pio_environ(glue: Glue) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PLATFORMIO_CORE_DIR": str(glue.core_dir),
            "PLATFORMIO_SETTING_ENABLE_TELEMETRY": "No",
            "PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL": "3650",
            "PLATFORMIO_SETTING_CHECK_PRUNE_SYSTEM_THRESHOLD": "0",
            "PLATFORMIO_NO_ANSI": "true",
        }
    )
    return env


def pio_executable() -> str:
    exe = shutil.which("pio") or shutil.which("platformio")
    if exe is None:
        raise UserError("PlatformIO (`pio`) not found: pip install 'platformio==6.2.*'")
    return exe
