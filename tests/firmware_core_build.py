"""Builds for the firmware core's tests: host test binaries (g++) and Cortex-M4F cross-compiles.

Outputs are cached under `<cache>/firmware-core-tests/<key>/`, the key hashing the compiler, the flags and
every source's bytes, so a second run of the tests reuses them and any edit rebuilds.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vwwdeploy.paths import cache_dir
from vwwdeploy.targets import CORTEX_M4F_FLAGS

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "firmware" / "core"
CPP_TESTS = REPO / "firmware" / "tests"
VECTORS = REPO / "tests" / "vectors"

# The one core file that needs TFLM and the generated model sources.
TFLM_SOURCES = {"tflm_classifier.cc"}
PORTABLE_SOURCES = sorted(p for p in CORE.glob("*.cc") if p.name not in TFLM_SOURCES)
# What the host tests link: everything portable except the app_main()s (they need a board's functions).
HOST_CORE_SOURCES = [p for p in PORTABLE_SOURCES if p.name not in ("app_main.cc", "mlperf_app_main.cc")]

ARM_CXX = "arm-none-eabi-g++"
ARM_FLAGS = [
    "-std=c++17",
    *CORTEX_M4F_FLAGS,
    "-Os",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-exceptions",
    "-fno-rtti",
    "-fno-threadsafe-statics",
]
HOST_TEST_FLAGS = [
    "-std=c++17",
    "-O1",
    "-g",
    "-Wall",
    "-Wextra",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=undefined",
    "-fno-omit-frame-pointer",
]
WORKERS = 2  # the test machine has 2 cores shared with others


def compiler_id(cxx: str) -> str:
    return subprocess.run([cxx, "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]


def cache_key(*parts: object, files: list[Path] = ()) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode())
    for f in sorted(files, key=lambda f: (f.name, str(f))):
        h.update(f.name.encode())  # names and bytes, not folders: a temporary folder must not defeat the cache
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:24]


def _compile(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"compile failed: {' '.join(cmd)}\n{proc.stderr[-4000:]}")


def compile_objects(cxx: str, flags: list[str], sources: list[Path], out_dir: Path) -> list[Path]:
    """Compiles each source to out_dir/<index>_<name>.o, WORKERS at a time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    objs = [out_dir / f"{i:04d}_{s.stem}.o" for i, s in enumerate(sources)]
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(_compile, [[cxx, *flags, "-c", str(s), "-o", str(o)] for s, o in zip(sources, objs)]))
    return objs


def cached(name: str, key: str, build) -> Path:
    """Returns <cache>/firmware-core-tests/<name>-<key>/<name>, calling build(tmp_dir) -> file when absent."""
    root = cache_dir() / "firmware-core-tests"
    final = root / f"{name}-{key}"
    target = final / name
    if target.exists():
        return target
    tmp = root / f"{name}-{key}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        built = build(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    built.rename(tmp / name)
    for o in tmp.glob("obj*"):
        shutil.rmtree(o, ignore_errors=True)
    try:
        tmp.rename(final)
    except OSError:  # another run finished first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def host_test_binary() -> Path:
    """The core's host unit tests (firmware/tests/test_*.cc), built with ASan + UBSan."""
    sources = [*HOST_CORE_SOURCES, *sorted(CPP_TESTS.glob("test_*.cc")), CPP_TESTS / "harness.cc"]
    headers = [*CORE.glob("*.h"), *CPP_TESTS.glob("*.h")]
    flags = [*HOST_TEST_FLAGS, f"-I{CORE}", f"-I{CPP_TESTS}"]

    def build(tmp: Path) -> Path:
        objs = compile_objects("g++", flags, sources, tmp / "obj")
        exe = tmp / "core_tests"
        subprocess.run(["g++", *flags, *map(str, objs), "-o", str(exe)], check=True, capture_output=True)
        return exe

    return cached("core_tests", cache_key(compiler_id("g++"), flags, files=[*sources, *headers]), build)


def run_host_tests(binary: Path, name_filter: str = "") -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        VWW_VECTORS=str(VECTORS),
        ASAN_OPTIONS="detect_leaks=1",
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
    )
    args = [str(binary)] + ([name_filter] if name_filter else [])
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)


# --- TFLM on the host --------------------------------------------------------------------------------

HOST_TFLM_DEFINES = ["TF_LITE_STATIC_MEMORY", "TF_LITE_DISABLE_X86_NEON", "TF_LITE_MCU_DEBUG_LOG"]


def tflm_includes(tree: Path, flags_json: dict) -> list[str]:
    # -isystem: TFLM's headers are upstream's; their warnings are not ours to fix.
    return [f"-isystem{tree / inc}" for inc in flags_json["includes"]]


def _tflm_host_flags(flags_json: dict, tree: Path) -> list[str]:
    return [
        "-std=c++17",
        "-O1",
        "-fno-exceptions",
        "-fno-rtti",
        "-w",
        *(f"-D{d}" for d in HOST_TFLM_DEFINES),
        *tflm_includes(tree, flags_json),
    ]


def _object_cache(tree: Path, flags: list[str]) -> Path:
    # The tree is immutable once complete (named by TFLM commit), so its identity is its path + commit;
    # each object is cached on its own, so an interrupted build loses nothing.
    return cache_dir() / "firmware-core-tests" / f"tflm-host-obj-{cache_key(compiler_id('g++'), flags, str(tree))}"


def _compile_cached(sources: list[Path], root: Path, flags: list[str], objdir: Path) -> list[Path]:
    objs, todo = [], []
    for src in sources:
        rel = src.relative_to(root) if src.is_relative_to(root) else Path("_extra") / src.name
        obj = objdir / (str(rel) + ".o")
        objs.append(obj)
        if not obj.exists():
            todo.append((src, obj))

    def one(job):
        src, obj = job
        obj.parent.mkdir(parents=True, exist_ok=True)
        tmp = obj.with_name(obj.name + f".tmp{os.getpid()}")
        _compile(["g++", *flags, "-c", str(src), "-o", str(tmp)])
        tmp.rename(obj)

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, todo))
    return objs


UNDEFINED = re.compile(r"undefined reference to `(?:[\w:]+::)?(\w+)[(`']")


def link_with_tflm(tree: Path, flags_json: dict, app_objects: list[Path], exe: Path) -> None:
    """Links app_objects with the TFLM sources they need, compiled for the host (reference kernels).

    Starts from TFLM's non-kernel sources and the kernel helpers, then adds the kernel files that define
    whatever the linker still reports missing (the model's ops), compiling each object once (cached).
    Building all ~190 files would take most of an hour on a loaded 2-core machine.
    """
    flags = _tflm_host_flags(flags_json, tree)
    objdir = _object_cache(tree, flags)
    all_sources = sorted(p for p in (tree / "tensorflow").rglob("*.cc") if "cortex_m_generic" not in p.parts)
    kernels_dir = tree / "tensorflow/lite/micro/kernels"
    kernel_sources = [p for p in all_sources if p.is_relative_to(kernels_dir)]
    chosen = [
        p for p in all_sources if p not in kernel_sources or p.name in ("kernel_util.cc", "micro_tensor_utils.cc")
    ]
    chosen.append(CPP_TESTS / "host_tflm_platform.cc")
    texts = {p: p.read_text(errors="replace") for p in kernel_sources}
    for _ in range(8):
        objs = _compile_cached(chosen, tree, flags, objdir)
        proc = subprocess.run(
            ["g++", *map(str, app_objects), "-Wl,--start-group", *map(str, objs), "-Wl,--end-group", "-o", str(exe)],
            capture_output=True,
            text=True,
        )
        if proc.returncode == 0:
            return
        missing = set(UNDEFINED.findall(proc.stderr))
        more = [p for p in kernel_sources if p not in chosen and any(m in texts[p] for m in missing)]
        if not more:
            raise AssertionError(f"link failed, nothing left to add for {sorted(missing)}:\n{proc.stderr[-3000:]}")
        chosen += more
    raise AssertionError("link with TFLM did not converge")
