"""Standalone TFLM source trees made by TFLM's own generator, for the Cortex-M4F firmware builds.

`ensure_tree(flavour)` returns `<cache>/tflm-tree/<flavour>-<tflm commit[:12]>/`, creating it the
first time, fully offline:

1. a work copy of the pinned TFLM checkout gets `tensorflow/lite/micro/tools/make/downloads/`
   filled from the resolved dependencies exactly where TFLM's download scripts would put them
   (flatbuffers and kissfft with TFLM's patches applied, CMSIS_6 with Cortex_DFP inside, an empty
   `pigweed/` so its git clone is skipped);
2. `create_tflm_tree.py` runs with `TARGET=cortex_m_generic TARGET_ARCH=cortex-m4+fp`
   (`OPTIMIZED_KERNEL_DIR=cmsis_nn` for "cmsis-nn") and `TARGET_TOOLCHAIN_ROOT` = the directory of
   the installed `arm-none-eabi-gcc`;
3. the compiler flags TFLM's Makefile uses for that target are recorded in `tflm_flags.json`
   (`cxxflags`, `ccflags`, `defines`, `includes` relative to the tree) so every build of the tree,
   PlatformIO or not, compiles it the way upstream does.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.firmware import deps as deps_mod
from vwwdeploy.paths import cache_dir

FLAVOURS = ("cmsis-nn", "reference")
TARGET_OPTIONS = ("TARGET=cortex_m_generic", "TARGET_ARCH=cortex-m4+fp")
MAKE_DIR = "tensorflow/lite/micro/tools/make"
COMPLETE = ".vwwdeploy-tree.json"


def tree_dir(flavour: str, tflm_commit: str = deps_mod.TFLM_COMMIT) -> Path:
    return cache_dir() / "tflm-tree" / f"{flavour}-{tflm_commit[:12]}"


def toolchain_root() -> str:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        raise UserError(
            "arm-none-eabi-gcc not found: install Debian's gcc-arm-none-eabi "
            "(plus libnewlib-arm-none-eabi, libstdc++-arm-none-eabi-newlib)"
        )
    return str(Path(gcc).resolve().parent) + "/"


def make_options(flavour: str) -> list[str]:
    if flavour not in FLAVOURS:
        raise UserError(f"unknown kernel flavour {flavour!r}: choose one of {', '.join(FLAVOURS)}")
    opts = [*TARGET_OPTIONS, f"TARGET_TOOLCHAIN_ROOT={toolchain_root()}"]
    if flavour == "cmsis-nn":
        opts.append("OPTIMIZED_KERNEL_DIR=cmsis_nn")
    return opts


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or ["?"]
        raise UserError(f"{what} failed: {tail[0]}")
    return proc.stdout


def _copy_src(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))


def _patch(folder: Path, patch_file: Path) -> None:
    _run(["patch", "-p1", "-s", "-d", str(folder), "-i", str(patch_file)], folder, f"applying {patch_file.name}")


def prepare_workspace(found: dict[str, Path]) -> Path:
    """A copy of the TFLM checkout whose downloads/ is pre-populated (no network needed)."""
    work = cache_dir() / "tflm-work" / deps_mod.TFLM_COMMIT[:12]
    done = work / COMPLETE
    if done.is_file():
        return work
    tmp = work.with_name(f"{work.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    _copy_src(found["tflm"], tmp)
    downloads = tmp / MAKE_DIR / "downloads"
    shutil.rmtree(downloads, ignore_errors=True)
    downloads.mkdir(parents=True)
    for name in ("gemmlowp", "ruy", "flatbuffers", "kissfft", "cmsis_nn"):
        _copy_src(found[name], downloads / name)
    # download_and_extract.sh / flatbuffers_download.sh drop Bazel BUILD files, then patch.
    for name in ("gemmlowp", "ruy", "flatbuffers", "kissfft"):
        for build_file in [*(downloads / name).rglob("BUILD"), *(downloads / name).rglob("BUILD.bazel")]:
            build_file.unlink()
    _patch(downloads / "flatbuffers", tmp / MAKE_DIR / "flatbuffers.patch")
    _patch(downloads / "kissfft", tmp / "third_party/kissfft/kissfft.patch")
    _copy_src(found["cmsis_6"], downloads / "cmsis")
    _copy_src(found["cortex_dfp"], downloads / "cmsis" / "Cortex_DFP")
    (downloads / "pigweed").mkdir()  # only its presence matters: skips the git clone
    (tmp / COMPLETE).write_text(json.dumps({"tflm_commit": deps_mod.TFLM_COMMIT}) + "\n")
    _publish(tmp, work)
    return work


def _publish(tmp: Path, final: Path) -> None:
    """Move a finished directory into place; if another process finished first, keep theirs
    (several builds, e.g. the Edge and the QEMU board, may ask for the same tree at once)."""
    if (final / COMPLETE).is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        return
    shutil.rmtree(final, ignore_errors=True)
    try:
        tmp.rename(final)
    except OSError:
        if not (final / COMPLETE).is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def _make_var(work: Path, options: list[str], var: str) -> str:
    out = _run(["make", "-s", "-f", f"{MAKE_DIR}/Makefile", *options, f"print-{var}"], work, f"reading TFLM's {var}")
    for line in out.splitlines():
        if line.startswith(f"{var}="):
            return line[len(var) + 1 :]
    raise UserError(f"reading TFLM's {var} failed: not printed by its Makefile")


def target_flags(work: Path, options: list[str]) -> dict[str, list[str]]:
    """Upstream's flags for this target, split into defines / includes / other flags."""
    result: dict[str, list[str]] = {"defines": [], "cxxflags": [], "ccflags": []}
    for var, key in (("CXXFLAGS", "cxxflags"), ("CCFLAGS", "ccflags")):
        for flag in shlex.split(_make_var(work, options, var)):
            if flag.startswith("-D"):
                if flag[2:] not in result["defines"]:
                    result["defines"].append(flag[2:])
            elif flag.startswith("-I"):
                continue  # include dirs are the tree's own layout, see includes below
            else:
                result[key].append(flag)
    return result


def ensure_tree(flavour: str) -> Path:
    """Path of the generated TFLM tree for "cmsis-nn" or "reference" kernels (built on first use).

    The tree holds `tensorflow/`, `signal/`, `third_party/` and `tflm_flags.json`:
    {"flavour", "tflm_commit", "make_options", "defines", "cxxflags", "ccflags", "optimization",
    "includes"}. Compile every .cc/.c under it (the generator copies only what the target needs)
    with `includes` (relative to the tree), `defines`, and `optimization["kernels"]` for
    `tensorflow/lite/micro/kernels/` and `third_party/cmsis_nn/`, `optimization["core"]` elsewhere.
    """
    options = make_options(flavour)
    out = tree_dir(flavour)
    if (out / COMPLETE).is_file():
        return out
    found = deps_mod.locate()
    work = prepare_workspace(found)
    tmp = out.with_name(f"{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    script = work / "tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py"
    _run(
        [sys.executable, str(script), str(tmp), "--makefile_options", " ".join(options)],
        work,
        f"TFLM create_tflm_tree.py ({flavour})",
    )
    flags = target_flags(work, options)
    # micro_time.cc includes the device header named by CMSIS_DEVICE_ARM_CORTEX_M_XX_HEADER_FILE
    # (ARMCM4.h); the generator does not list it, so copy it from the same Cortex_DFP pin.
    dfp = "third_party/cmsis/Cortex_DFP/Device/ARMCM4/Include"
    shutil.copytree(work / MAKE_DIR / "downloads/cmsis/Cortex_DFP/Device/ARMCM4/Include", tmp / dfp)
    # ARMCM4.h needs core_cm4.h and, through cmsis_gcc.h, m-profile/*.h: the generator copies only
    # the headers it saw listed (none at all for the reference tree), so copy the whole folder.
    core = "third_party/cmsis/CMSIS/Core/Include"
    shutil.copytree(
        work / MAKE_DIR / "downloads/cmsis" / core.removeprefix("third_party/cmsis/"), tmp / core, dirs_exist_ok=True
    )
    optimization = {
        "core": _make_var(work, options, "CORE_OPTIMIZATION_LEVEL").strip(),
        "kernels": _make_var(work, options, "KERNEL_OPTIMIZATION_LEVEL").strip(),
    }
    includes = [
        ".",
        "third_party/gemmlowp",
        "third_party/flatbuffers/include",
        "third_party/ruy",
        "third_party/kissfft",
    ]
    if flavour == "cmsis-nn":
        includes += ["third_party/cmsis_nn", "third_party/cmsis_nn/Include"]
    # CMSIS core for the generic Cortex-M4 device: only the TFLM library sees these, never the
    # application, whose SDK brings its own (older) CMSIS.
    includes += ["third_party/cmsis/CMSIS/Core/Include", "third_party/cmsis/Cortex_DFP/Device/ARMCM4/Include"]
    includes = [i for i in includes if (tmp / i).is_dir()]
    meta = {
        "flavour": flavour,
        "tflm_commit": deps_mod.TFLM_COMMIT,
        "make_options": options,
        **flags,
        "optimization": optimization,
        "includes": includes,
    }
    (tmp / "tflm_flags.json").write_text(json.dumps(meta, indent=2) + "\n")
    (tmp / COMPLETE).write_text(json.dumps({"flavour": flavour}) + "\n")
    _publish(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:  # python -m vwwdeploy.firmware.tflm_tree FLAVOUR
    args = argv if argv is not None else sys.argv[1:]
    for flavour in args or FLAVOURS:
        print(ensure_tree(flavour))
    return 0


if __name__ == "__main__":
    sys.exit(main())
