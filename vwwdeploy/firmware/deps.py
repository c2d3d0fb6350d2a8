"""Pinned upstream sources the firmware is built from, and where they are on this machine.

Each dependency is data: a name, the git URL, the exact commit, and a marker file that proves a
directory really holds it. A dependency is found, in this order, at a directory given on the
command line (`--tflm DIR`), in an environment variable (`VWWDEPLOY_TFLM_DIR`), or in the cache
(`<cache>/src/<name>`, filled by `vwwdeploy firmware deps` with git). `deps.json` in the cache
records what was resolved so later builds use the same directories.

TFLM pins its own third-party sources (third_party_downloads.inc, ext_libs/*_download.sh); the
commits below are those pins for the TFLM commit pinned here, so bump them together.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.paths import cache_dir


@dataclass(frozen=True)
class Dep:
    name: str  # cache folder, deps.json key; CLI flag is --<name with - for _>
    url: str
    commit: str
    marker: str  # relative path that must exist in a directory holding this dependency
    why: str
    # What needs it: "firmware" (every build) or "svl" (only the SVL bootloader build for the emulated Edge), so
    # an Edge or QEMU build never fails for want of a bootloader source it does not compile.
    needed_by: str = "firmware"

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env_var(self) -> str:
        return f"VWWDEPLOY_{self.name.upper()}_DIR"


TFLM_COMMIT = "90b983c2b3f1480642e040bbd2ddb37b998f3424"  # tflite-micro main, 2026-08-20

DEPS: tuple[Dep, ...] = (
    Dep(
        "tflm",
        "https://github.com/tensorflow/tflite-micro.git",
        TFLM_COMMIT,
        "tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py",
        "TensorFlow Lite Micro: interpreter, kernels, tree generator, upstream person_detect.tflite",
    ),
    # The rest are the commits TFLM_COMMIT's download scripts pin.
    Dep(
        "cmsis_nn",
        "https://github.com/ARM-software/CMSIS-NN.git",
        "4ab83cc3cc98fb85ed6dafb55e8ca02f1628dcae",
        "Include/arm_nnfunctions.h",
        "optimized int8 kernels (ext_libs/cmsis_nn_download.sh)",
    ),
    Dep(
        "cmsis_6",
        "https://github.com/ARM-software/CMSIS_6.git",
        "5782d6f8057906d360f4b95ec08a2354afe5c9b9",
        "CMSIS/Core/Include/cmsis_compiler.h",
        "CMSIS core headers CMSIS-NN compiles against (ext_libs/cmsis_download.sh)",
    ),
    Dep(
        "cortex_dfp",
        "https://github.com/ARM-software/Cortex_DFP.git",
        "c2c70a97a20fb355815e2ead3d4a40e35a4a3cdf",
        "Device/ARMCM4/Include/ARMCM4.h",
        "generic Cortex-M device headers (ext_libs/cmsis_download.sh)",
    ),
    Dep(
        "flatbuffers",
        "https://github.com/google/flatbuffers.git",
        "187240970746d00bbd26b0f5873ed54d2477f9f3",
        "include/flatbuffers/flatbuffers.h",
        "model file parser, tag v25.9.23 (third_party_downloads.inc), TFLM patch applied in the tree",
    ),
    Dep(
        "gemmlowp",
        "https://github.com/google/gemmlowp.git",
        "719139ce755a0f31cbf1c37f7f98adcc7fc9f425",
        "fixedpoint/fixedpoint.h",
        "fixed-point helpers used by the reference kernels (third_party_downloads.inc)",
    ),
    Dep(
        "ruy",
        "https://github.com/google/ruy.git",
        "d37128311b445e758136b8602d1bbd2a755e115d",
        "ruy/profiler/instrumentation.h",
        "profiler header the kernels include (third_party_downloads.inc)",
    ),
    Dep(
        "kissfft",
        "https://github.com/mborgerding/kissfft.git",
        "918336beac80868ad3011cb283063bb224e3e5da",
        "kiss_fft.h",
        "FFT for TFLM's signal library, tag v130 (third_party_downloads.inc), TFLM patch applied",
    ),
    # Board support: PlatformIO platform, SparkFun's AmbiqSuite SDK 2.5.1 and its boards_sfe BSPs.
    Dep(
        "platform_apollo3blue",
        "https://github.com/nigelb/platform-apollo3blue.git",
        "a4872991c2746c7e1d775cc2bfc5bdf3da0beb89",
        "builder/frameworks/ambiqsuitesdk-sfe.py",
        "PlatformIO platform `apollo3blue` (board SparkFun_Edge_Development_Board)",
    ),
    # Branch 2.5.1-sfe (the default branch, master, is still 2.4.2 without third_party/cordio,
    # which the platform's framework script expects).
    Dep(
        "ambiqsdk",
        "https://github.com/sparkfun/AmbiqSuiteSDK.git",
        "43f4c28491d3311d1125fc9a12f0f27e0a4d7356",
        "third_party/cordio/wsf/include/wsf_buf.h",
        "SparkFun's AmbiqSuite SDK 2.5.1 (PlatformIO framework ambiqsdk-sfe)",
    ),
    Dep(
        "ambiq_bsps",
        "https://github.com/sparkfun/SparkFun_Apollo3_AmbiqSuite_BSPs.git",
        "c896285381495d00e32da0b4a9807799b197cb02",
        "edge/bsp/am_bsp_pins.h",
        "boards_sfe: the Edge BSP, startup and linker templates (master; the SDK's submodule commit "
        "6398086 names a pin mux AM_HAL_PIN_23_MSPI13 that SDK 2.5.1 lacks, fixed in 6966d4c)",
    ),
    # SparkFun's bootloader for `vwwdeploy firmware build --bootloader svl` (the emulated Edge's SVL); its master
    # on 2023-11-29, the last commit (it only regenerated the uploader executables under dist/).
    Dep(
        "svl",
        "https://github.com/sparkfun/Apollo3_Uploader_SVL.git",
        "fc89de7f8163fe755021ca88e779e2963209e5a6",
        "bootloader/src/main.c",
        "SparkFun Variable Loader: bootloader/ sources (SVL version 6)",
        needed_by="svl",
    ),
)

BY_NAME = {d.name: d for d in DEPS}


def src_cache() -> Path:
    return cache_dir() / "src"


def deps_json() -> Path:
    return cache_dir() / "deps.json"


def _check_dir(dep: Dep, path: Path, origin: str) -> Path:
    path = path.expanduser()
    if not path.is_dir():
        raise UserError(f"{dep.name}: {path} (from {origin}) is not a directory")
    if not (path / dep.marker).is_file():
        raise UserError(f"{dep.name}: {path} (from {origin}) does not look like {dep.url} (no {dep.marker})")
    return path.resolve()


def git_fetch(dep: Dep, dest: Path) -> Path:
    """Clone `dep` at its pinned commit into `dest` (shallow fetch of that one commit)."""
    if shutil.which("git") is None:
        raise UserError("git is not installed; install it or pass the dependency directories (see --help)")
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    def git(*args: str) -> None:
        proc = subprocess.run(["git", "-C", str(tmp), *args], capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            raise UserError(f"{dep.name}: git {args[0]} {dep.url} failed: {last}")

    try:
        git("init", "-q")
        git("fetch", "-q", "--depth", "1", dep.url, dep.commit)
        git("checkout", "-q", "FETCH_HEAD")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return _check_dir(dep, dest, "git")


def needed_by(what: str) -> tuple[str, ...]:
    return tuple(d.name for d in DEPS if d.needed_by == what)


def resolve(
    dirs: dict[str, Path | None] | None = None,
    fetch: bool = False,
    environ: dict[str, str] | None = None,
    names: tuple[str, ...] | None = None,
) -> dict[str, Path]:
    """Find every dependency (or those in `names`): CLI dir, then env var, then the cache; with `fetch`,
    git-clone the ones still missing. Raises UserError naming the first one that cannot be found."""
    wanted = [d for d in DEPS if names is None or d.name in names]
    dirs = dirs or {}
    environ = os.environ if environ is None else environ
    # Directories the user named are checked first: a typo there is the error worth reporting.
    found: dict[str, Path] = {
        dep.name: _check_dir(dep, Path(dirs[dep.name]), dep.option) for dep in wanted if dirs.get(dep.name) is not None
    }
    for dep in wanted:
        if dep.name in found:
            continue
        if environ.get(dep.env_var):
            found[dep.name] = _check_dir(dep, Path(environ[dep.env_var]), dep.env_var)
        elif (src_cache() / dep.name / dep.marker).is_file():
            found[dep.name] = (src_cache() / dep.name).resolve()
        elif fetch:
            found[dep.name] = git_fetch(dep, src_cache() / dep.name)
        else:
            raise UserError(
                f"{dep.name} not found: run `vwwdeploy firmware deps` (needs internet) or "
                f"pass {dep.option} DIR / set {dep.env_var} to a checkout of {dep.url} "
                f"at {dep.commit[:12]}"
            )
    return found


def record(found: dict[str, Path]) -> Path:
    """Write deps.json: resolved directory and pinned commit of each dependency."""
    from vwwdeploy.atomic import atomic_write_text

    data = {
        name: {"path": str(path), "commit": BY_NAME[name].commit, "url": BY_NAME[name].url}
        for name, path in found.items()
    }
    out = deps_json()
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(data, indent=2) + "\n")
    return out


def locate(fetch: bool = False, names: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Directories for the build (`names`, default: what every firmware build needs): env vars win, then
    deps.json, then the cache; with `fetch`, git clones what is still missing (and records the result)."""
    names = needed_by("firmware") if names is None else names
    recorded: dict[str, Path] = {}
    if deps_json().is_file():
        try:
            recorded = {k: Path(v["path"]) for k, v in json.loads(deps_json().read_text()).items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{deps_json()} is damaged ({exc}); run `vwwdeploy firmware deps` again") from None
    # A recorded directory that has since gone away falls back to the cache/env lookup.
    dirs = {
        name: path
        for name, path in recorded.items()
        if name in BY_NAME and not os.environ.get(BY_NAME[name].env_var) and path.is_dir()
    }
    found = resolve({k: v for k, v in dirs.items() if k in names}, fetch=fetch, names=names)
    if fetch and not set(found) <= set(recorded):
        # keep what deps.json already holds for the dependencies this build did not look up
        record({**{k: v for k, v in dirs.items() if k not in found}, **found})
    return found
