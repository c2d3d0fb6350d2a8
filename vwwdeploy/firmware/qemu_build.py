"""Build the firmware for QEMU's mps2-an386 (the emulated board) with plain GNU make.

`build_qemu_firmware(kernels, model, profile)` returns the ELF `vwwdeploy emulate` boots. Three
cached steps under `<cache>/build/`, each keyed by a hash of everything that goes into it, so a
second build (or a test run) with nothing changed costs a few hashes:

1. `qemu-gen-<key>/`: `vwwdeploy codegen` output for the model (key: model bytes, codegen source);
2. `qemu-tflm-<flavour>-<profile>-<key>/libtflm.a`: the generated TFLM tree compiled once per
   kernel flavour and profile (key: tree, TFLM commit, compiler, flags, Makefile);
3. `qemu-<flavour>-<profile>-<key>/firmware.elf`: core + board + model linked with that library
   (key: library key, every core/board/generated source byte, flags).

The last successful build of each flavour is recorded in `qemu-<flavour>.json` (`latest_build`),
which is what `vwwdeploy emulate` runs unless given `--firmware`.

Longer than 400 lines on purpose: the three cached steps and the choice of which TFLM sources a model
needs (seeded by its ops, completed from the linker's complaints) feed one another's cache keys.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.paths import cache_dir

KERNELS = ("cmsis-nn", "reference", "generated")
# "generated": model-specialised kernels (vwwdeploy/model/kernels/) over the CMSIS-NN tree, which runs every op
# or layer the generator does not cover.
TFLM_FLAVOUR = {"cmsis-nn": "cmsis-nn", "reference": "reference", "generated": "cmsis-nn"}
KERNELS_DIR = Path("firmware") / "kernels"
# What the firmware's UART speaks: the vwwdeploy binary protocol, or the MLPerf Tiny DUT protocol (docs/mlperf.md).
APPS = ("binary", "mlperf")
BOARD_DIR = Path("firmware") / "boards" / "qemu_an386"
COMPLETE = ".complete"


@dataclass(frozen=True)
class Profile:
    """Optimisation choices; `None` levels mean TFLM's own (core -Os, kernels -O2 for this target)."""

    description: str
    tflm_core: str | None
    tflm_kernels: str | None
    app: str
    lto: bool


PROFILES: dict[str, Profile] = {
    # What the SparkFun Edge build does (platformio.ini + vww_post.py): TFLM at its own levels, app -Os.
    # Measured (bench/bench_emulate.py, docs/benchmarks.md): the fewest instructions per inference of
    # the three, so the default; the others stay selectable for the benchmark.
    "plain": Profile("TFLM's own levels (core -Os, kernels -O2), app -Os, no LTO", None, None, "-Os", False),
    "o3-lto": Profile("everything -O3, link-time optimisation", "-O3", "-O3", "-O3", True),
    "o2-lto": Profile("everything -O2, link-time optimisation", "-O2", "-O2", "-O2", True),
}
DEFAULT_PROFILE = "plain"


@dataclass
class QemuBuild:
    elf: Path
    kernels: str
    profile: str
    model: Path
    model_sha256: str
    build_dir: Path
    app: str = "binary"

    def to_json(self) -> str:
        d = {k: str(v) for k, v in asdict(self).items()}
        return json.dumps(d, indent=2) + "\n"


def repo_root() -> Path:
    """The checkout holding the firmware sources (the build needs them; a wheel install has none)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / BOARD_DIR / "Makefile").is_file():
        raise UserError(f"firmware sources not found under {root}: build from a vwwdeploy source checkout")
    return root


def build_root() -> Path:
    return cache_dir() / "build"


def _sha(*parts: object, files: list[Path] = ()) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\0")
    for f in sorted(files):
        h.update(f.name.encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def _check_tools() -> None:
    for tool, hint in (
        (
            "arm-none-eabi-gcc",
            "install Debian's gcc-arm-none-eabi, libnewlib-arm-none-eabi and libstdc++-arm-none-eabi-newlib",
        ),
        ("make", "install GNU make"),
    ):
        if shutil.which(tool) is None:
            raise UserError(f"{tool} not found: {hint}")


def _compiler_id() -> str:
    out = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.stdout else "?"


def default_model() -> Path:
    """The upstream person detector in the pinned TFLM checkout (as the Edge build's default)."""
    from vwwdeploy.firmware import deps

    path = deps.locate()["tflm"] / "tensorflow/lite/micro/models/person_detect.tflite"
    if not path.is_file():
        raise UserError(f"{path} is missing from the TFLM checkout; pass --model M.tflite")
    return path


def generated_sources(model: Path) -> Path:
    """`vwwdeploy codegen` output for `model`, cached by the model's bytes and the generator's source."""
    from vwwdeploy.model import codegen

    if not model.is_file():
        raise UserError(f"model {model} does not exist")
    key = _sha("gen", files=[model, Path(codegen.__file__)])
    out = build_root() / f"qemu-gen-{key}"
    if (out / COMPLETE).is_file():
        return out
    tmp = out.with_name(out.name + f".partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    codegen.generate_sources(model, tmp)
    (tmp / COMPLETE).write_text(str(model) + "\n")
    if not (out / COMPLETE).is_file():
        shutil.rmtree(out, ignore_errors=True)  # a half-made one
        try:
            tmp.rename(out)
        except OSError:  # a concurrent build got there first: same key, same content
            pass
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def specialised_sources(model: Path) -> Path:
    """The generated kernel sources for `model` (vwwdeploy/model/kernels/generate.py), cached by model and generator;
    prints one line per convolution the generator leaves to CMSIS-NN."""
    from vwwdeploy.model.kernels import generate, layers
    from vwwdeploy.progress import say

    key = _sha("kgen", files=[model, Path(generate.__file__), Path(layers.__file__)])
    out = build_root() / f"qemu-kgen-{key}"
    if not (out / COMPLETE).is_file():
        tmp = out.with_name(out.name + f".partial-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        decisions = generate.generate_kernels(model, tmp)
        (tmp / "refused.txt").write_text(
            "".join(
                f"op {d.layer.index} {d.layer.op}: {d.reason}; CMSIS-NN runs it\n"
                for d in decisions
                if not d.kernel and d.layer.op in ("CONV_2D", "DEPTHWISE_CONV_2D")
            )
        )
        (tmp / COMPLETE).write_text(str(model) + "\n")
        if not (out / COMPLETE).is_file():
            shutil.rmtree(out, ignore_errors=True)
            try:
                tmp.rename(out)
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    for line in (out / "refused.txt").read_text().splitlines():
        say(f"generated kernels: {line}")
    return out


def _flags_line(name: str, values: list[str]) -> str:
    return f"{name} := {' '.join(shlex.quote(v) for v in values)}\n"


def _config_mk(
    tree: Path,
    tflm: dict,
    profile: Profile,
    kernels: str,
    tflm_lib: Path,
    generated: Path,
    obj_dir: Path,
    sources: list[str],
    app: str = "binary",
    extra_defines: tuple[str, ...] = (),
    specialised: Path | None = None,
) -> str:
    strip = {"-MD"}  # the Makefile asks for -MMD itself
    device_only = ("ARMCM4", "CPU_M4=1", "CMSIS_DEVICE_ARM_CORTEX_M_XX_HEADER_FILE")
    lines = [
        "# Written by vwwdeploy (vwwdeploy/firmware/qemu_build.py); read by firmware/boards/qemu_an386/Makefile.\n",
        f"TFLM_TREE := {tree}\n",
        f"TFLM_LIB := {tflm_lib}\n",
        f"TFLM_OBJ_DIR := {obj_dir}\n",
        f"TFLM_SRCS := {' '.join(sources)}\n",
        _flags_line("TFLM_INCLUDES", tflm["includes"]),
        _flags_line("TFLM_DEFS", [f"-D{d}" for d in tflm["defines"]]),
        _flags_line("APP_TFLM_DEFS", [f"-D{d}" for d in tflm["defines"] if not d.startswith(device_only)]),
        _flags_line("TFLM_CXXFLAGS", [f for f in tflm["cxxflags"] if f not in strip] + ["-g"]),
        _flags_line("TFLM_CCFLAGS", [f for f in tflm["ccflags"] if f not in strip] + ["-g"]),
        f"TFLM_OPT_CORE := {profile.tflm_core or tflm['optimization']['core']}\n",
        f"TFLM_OPT_KERNELS := {profile.tflm_kernels or tflm['optimization']['kernels']}\n",
        f"APP_OPT := {profile.app}\n",
        f"LTO := {'-flto' if profile.lto else ''}\n",
        f"KERNELS_DEFINE := {kernels.upper().replace('-', '_')}\n",
        f"GENERATED := {generated}\n",
        f"APP_SELECT := {'-DVWW_APP_MLPERF' if app == 'mlperf' else ''}\n",
        f"SPECIALISED := {specialised or ''}\n",
        _flags_line("APP_EXTRA_DEFS", [f"-D{d}" for d in extra_defines]),
    ]
    return "".join(lines)


def _make(build_dir: Path, config: str, target: str, jobs: int) -> subprocess.CompletedProcess:
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "config.mk").write_text(config)
    makefile = repo_root() / BOARD_DIR / "Makefile"
    cmd = ["make", "-f", str(makefile), f"BUILD={build_dir}", f"-j{jobs}", target]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    (build_dir / "make.log").write_text(proc.stdout + proc.stderr)
    return proc


def _make_failure(build_dir: Path, proc: subprocess.CompletedProcess) -> UserError:
    errors = [l for l in proc.stderr.splitlines() if "error" in l.lower()] or proc.stderr.splitlines()[-1:]
    return UserError(f"QEMU firmware build failed ({build_dir / 'make.log'}): {errors[0] if errors else '?'}")


# --- which TFLM sources a model needs ---------------------------------------------------------------
ADD_OP = re.compile(r"\.(Add\w+)\(")
UNDEFINED = re.compile(r"undefined reference to `([^']+)'")


# TFLM's generic Cortex-M timer reads the DWT cycle counter through CMSIS device headers the CMSIS-NN
# tree lacks (m-profile/cmsis_gcc_m.h); the board layer defines the two functions from its own timer.
NOT_COMPILED = {"tensorflow/lite/micro/cortex_m_generic/micro_time.cc"}


def _tree_sources(tree: Path) -> list[str]:
    return _without_excluded(tree)


def _without_excluded(tree: Path) -> list[str]:
    return [s for s in _all_tree_sources(tree) if s not in NOT_COMPILED]


def _all_tree_sources(tree: Path) -> list[str]:
    return sorted(
        str(p.relative_to(tree)) for p in (tree / "tensorflow").rglob("*") if p.suffix in (".cc", ".c") and p.is_file()
    ) + sorted(str(p.relative_to(tree)) for p in (tree / "third_party").rglob("*.c") if "kissfft" not in p.parts)


def _ops_of(generated: Path) -> list[str]:
    return sorted(set(ADD_OP.findall((generated / "model_settings.h").read_text())))


def _seed_sources(tree: Path, ops: list[str]) -> list[str]:
    """The interpreter (everything outside kernels/) plus each op's kernel files and kernel helpers."""
    all_src = _tree_sources(tree)
    kernels = "tensorflow/lite/micro/kernels/"
    seed = {s for s in all_src if s.startswith("tensorflow/") and not s.startswith(kernels)}
    seed |= {kernels + "kernel_util.cc", kernels + "micro_tensor_utils.cc"} & set(all_src)
    resolver = (tree / "tensorflow/lite/micro/micro_mutable_op_resolver.h").read_text()
    for op in ops:
        m = re.search(rf"TfLiteStatus {op}\([^)]*?(Register_\w+)\(\)", resolver, re.S)
        if not m:
            continue
        for src in _defining(tree, all_src, m.group(1)):
            seed.add(src)
            common = src.replace("/cmsis_nn/", "/").removesuffix(".cc") + "_common.cc"
            if common in all_src:
                seed.add(common)
    return sorted(_with_cmsis_nn_callees(tree, seed, all_src))


def _with_cmsis_nn_callees(tree: Path, seed: set[str], all_src: list[str]) -> set[str]:
    """Adds the CMSIS-NN sources the seed calls, transitively (each arm_xxx() lives in arm_xxx.c), so one
    link usually suffices; an LTO link costs minutes."""
    by_stem = {Path(s).stem: s for s in all_src if s.startswith("third_party/cmsis_nn/")}
    todo, done = list(seed), set(seed)
    while todo:
        src = todo.pop()
        for name in set(re.findall(r"\b(arm_\w+)\s*\(", (tree / src).read_text(errors="replace"))):
            callee = by_stem.get(name)
            if callee and callee not in done:
                done.add(callee)
                todo.append(callee)
    return done


_texts: dict[tuple[Path, str], str] = {}


def _defining(tree: Path, sources: list[str], name: str) -> list[str]:
    """Sources that define function/variable `name` (CMSIS-NN: the file named after it)."""
    by_stem = [s for s in sources if Path(s).stem == name]
    if by_stem:
        return by_stem
    definition = re.compile(
        rf"\b{re.escape(name)}\s*\([^;{{]*\)\s*(const\s*)?\{{|\b{re.escape(name)}\s*(\[[^]]*\])?\s*=", re.S
    )
    found = []
    for s in sources:
        key = (tree, s)
        if key not in _texts:
            _texts[key] = (tree / s).read_text(errors="replace")
        if name in _texts[key] and definition.search(_texts[key]):
            found.append(s)
    return found


def _missing_sources(tree: Path, have: set[str], link_errors: str) -> set[str]:
    all_src = [s for s in _tree_sources(tree) if s not in have]
    missing: set[str] = set()
    for symbol in set(UNDEFINED.findall(link_errors)):
        name = symbol.split("(")[0].split("::")[-1].split("<")[0].strip()
        if name:
            missing.update(_defining(tree, all_src, name))
    return missing


@contextmanager
def _locked(obj_dir: Path):
    obj_dir.mkdir(parents=True, exist_ok=True)
    with open(obj_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def tflm_object_dir(kernels: str, profile_name: str) -> tuple[Path, Path, dict]:
    """(tree, object dir, tflm_flags) for one kernel flavour and profile; objects are shared by every model."""
    from vwwdeploy.firmware.tflm_tree import ensure_tree

    tree = ensure_tree(kernels)
    tflm = json.loads((tree / "tflm_flags.json").read_text())
    key = _sha(str(tree), tflm.get("tflm_commit"), _compiler_id(), PROFILES[profile_name], tflm)
    return tree, build_root() / f"qemu-tflm-{kernels}-{profile_name}-{key}", tflm


def _app_sources(kernels: str = "cmsis-nn") -> list[Path]:
    root = repo_root()
    core = root / "firmware" / "core"
    board = root / BOARD_DIR
    files = [*core.glob("*.cc"), *core.glob("*.h"), *(p for p in board.iterdir() if p.is_file())]
    if kernels == "generated":
        files += [*(root / KERNELS_DIR).glob("*.cc"), *(root / KERNELS_DIR).glob("*.h")]
    return sorted(files)


def _record(kernels: str, app: str) -> Path:
    return build_root() / (f"qemu-{kernels}.json" if app == "binary" else f"qemu-{kernels}-{app}.json")


def build_qemu_firmware(
    kernels: str = "cmsis-nn",
    model: str | Path | None = None,
    profile: str = DEFAULT_PROFILE,
    jobs: int | None = None,
    app: str = "binary",
    op_profile: bool = False,
) -> QemuBuild:
    """Build (or find in the cache) the mps2-an386 firmware; records it as the latest for `kernels` and `app`.

    op_profile: a build that prints instructions per operator after each inference (OpProfiler in tflm_classifier.cc;
    read them with `vwwdeploy.model.op_profile`); it is not recorded as the latest build."""
    if app not in APPS:
        raise UserError(f"unknown app {app!r}: choose one of {', '.join(APPS)}")
    if kernels not in KERNELS:
        raise UserError(f"unknown kernels {kernels!r}: choose one of {', '.join(KERNELS)}")
    if profile not in PROFILES:
        raise UserError(f"unknown build profile {profile!r}: choose one of {', '.join(PROFILES)}")
    _check_tools()
    jobs = jobs or min(os.cpu_count() or 1, 4)
    model_path = Path(model) if model is not None else default_model()
    generated = generated_sources(model_path)
    tree, obj_dir, tflm = tflm_object_dir(TFLM_FLAVOUR[kernels], profile)
    gen_files = [generated / n for n in ("model_data.h", "model_data.cc", "model_settings.h")]
    specialised = specialised_sources(model_path) if kernels == "generated" else None
    if specialised is not None:
        gen_files += sorted(specialised.glob("*.cc")) + sorted(specialised.glob("*.h"))
    extra_defines = ("VWW_OP_PROFILE",) if op_profile else ()
    key = _sha(
        obj_dir.name,
        PROFILES[profile],
        *((app,) if app != "binary" else ()),
        *extra_defines,
        files=[*_app_sources(kernels), *gen_files],
    )
    out = build_root() / f"qemu-{kernels}-{profile}{'-opprof' if op_profile else ''}-{key}"
    elf = out / "firmware.elf"
    if not (out / COMPLETE).is_file():
        ops = _ops_of(generated)
        closure = obj_dir / f"sources-{_sha(*ops)}.txt"  # what this op set needed last time
        sources = closure.read_text().split() if closure.is_file() else _seed_sources(tree, ops)
        from vwwdeploy.progress import say

        what = f"{kernels} kernels, {profile} profile" + (", MLPerf Tiny mode" if app == "mlperf" else "")
        say(f"building the QEMU mps2-an386 firmware ({what}) in {out}")
        for _ in range(8):  # each round adds the definitions the linker missed
            lib = obj_dir / f"libtflm-{_sha(*sources)}.a"
            config = _config_mk(
                tree,
                tflm,
                PROFILES[profile],
                kernels,
                lib,
                generated,
                obj_dir,
                sources,
                app,
                extra_defines,
                specialised,
            )
            with _locked(obj_dir):  # another build (a test run, a CI checkout) may share these objects
                proc = _make(out, config, "all", jobs)
            if proc.returncode == 0:
                break
            more = _missing_sources(tree, set(sources), proc.stderr)
            if not more:
                raise _make_failure(out, proc)
            sources = sorted(set(sources) | more)
        else:
            raise _make_failure(out, proc)
        obj_dir.mkdir(parents=True, exist_ok=True)
        closure.write_text("\n".join(sources) + "\n")
        (out / COMPLETE).write_text("")
    sha = hashlib.sha256(model_path.read_bytes()).hexdigest()
    result = QemuBuild(
        elf=elf, kernels=kernels, profile=profile, model=model_path.resolve(), model_sha256=sha, build_dir=out, app=app
    )
    if not op_profile:
        from vwwdeploy.atomic import atomic_write_text

        atomic_write_text(_record(kernels, app), result.to_json())
    return result


def latest_build(kernels: str = "cmsis-nn", app: str = "binary") -> Path:
    """The ELF of the last `vwwdeploy firmware build --board qemu --kernels K`, or a UserError saying how to make it."""
    record = _record(kernels, app)
    app_opt = f" --app {app}" if app != "binary" else ""
    hint = f"run `vwwdeploy firmware build --board qemu --kernels {kernels}{app_opt}` first (or pass --firmware ELF)"
    if not record.is_file():
        raise UserError(f"no QEMU firmware built for {kernels} kernels: {hint}")
    try:
        elf = Path(json.loads(record.read_text())["elf"])
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{record} is damaged: {hint}") from None
    if not elf.is_file():
        raise UserError(f"the QEMU firmware {elf} recorded in {record} is gone: {hint}")
    return elf
