"""`vwwdeploy firmware build`: model sources, TFLM tree, PlatformIO glue, then `pio run`.

Steps for each requested environment of the repo's platformio.ini:
1. firmware/generated/ (model_data.cc/.h, model_settings.h) from `--model`, or from the upstream
   person detector in the pinned TFLM checkout when the folder is missing; codegen refuses models
   whose ops the firmware cannot register, and a model that cannot fit in flash is refused here;
2. the TFLM tree of the env's kernel flavour (`custom_tflm_kernels`), see tflm_tree.ensure_tree;
3. for an env with `custom_vww_kernels = generated`: the model-specialised kernel sources for the model
   (vwwdeploy/model/kernels/, cached outside the repo like the QEMU build's), passed on as VWWDEPLOY_SPECIALISED;
4. the local-path PlatformIO configuration (pio_glue), then `pio run -e ENV`;
5. flash/RAM of the linked image (size.py), saved as .pio/vwwdeploy/ENV/vwwdeploy-size.json.
"""

from __future__ import annotations

import configparser
import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.firmware import deps as deps_mod
from vwwdeploy.firmware import pio_glue, size, tflm_tree
from vwwdeploy.paths import repo_root

DEFAULT_MODEL = "tensorflow/lite/micro/models/person_detect.tflite"
GENERATED = "firmware/generated"
# Smallest flash the firmware itself (TFLM interpreter + kernels, HAL, protocol) needs besides the
# model: a model larger than FLASH_LIMIT minus this cannot fit, so refuse before compiling.
MIN_FIRMWARE_FLASH = 64 * 1024


@dataclass
class EnvInfo:
    name: str
    flavour: str
    specialised: bool = False  # model-specialised convolutions (`custom_vww_kernels = generated`)


def project_root() -> Path:
    root = repo_root()
    if root is None:
        raise UserError(
            "the firmware is built from a source checkout of vwwdeploy "
            "(platformio.ini and firmware/ were not found next to the package)"
        )
    return root


def environments(ini: Path) -> dict[str, EnvInfo]:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    parser.read(ini, encoding="utf-8")
    found = {}
    for section in parser.sections():
        if section.startswith("env:"):
            name = section[4:]
            flavour = env_option(parser, section, "custom_tflm_kernels")
            found[name] = EnvInfo(
                name, flavour or "cmsis-nn", env_option(parser, section, "custom_vww_kernels") == "generated"
            )
    return found


def env_option(parser: configparser.ConfigParser, section: str, option: str) -> str | None:
    """An env's option, looked up through its `extends` chain as PlatformIO does."""
    seen = set()
    while section and section not in seen and parser.has_section(section):
        if parser.has_option(section, option):
            return parser.get(section, option)
        seen.add(section)
        section = parser.get(section, "extends", fallback="").strip()
    return None


def default_envs(ini: Path) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    parser.read(ini, encoding="utf-8")
    value = parser.get("platformio", "default_envs", fallback="")
    return [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]


def generate_model_sources(root: Path, model: Path | None, found: dict[str, Path]) -> Path:
    from vwwdeploy.model.codegen import generate_sources

    out = root / GENERATED
    if model is None and (out / "model_settings.h").is_file() and (out / "model_data.cc").is_file():
        return out  # keep what `vwwdeploy codegen` or an earlier build put there
    model = model or found["tflm"] / DEFAULT_MODEL
    if not model.is_file():
        raise UserError(f"{model}: no such model file")
    if model.stat().st_size > size.FLASH_LIMIT - MIN_FIRMWARE_FLASH:
        raise UserError(
            f"{model}: {model.stat().st_size:,} B cannot fit in the Edge's "
            f"{size.FLASH_LIMIT:,} B flash next to the firmware (at least "
            f"{MIN_FIRMWARE_FLASH:,} B); use a smaller model"
        )
    generate_sources(model, out)
    return out


def _first_error(log: str) -> str:
    lines = log.splitlines()
    for needle in ("overflowed by", " error: ", "error:", "Error:"):
        for line in lines:
            if needle in line:
                return line.strip()
    return (lines[-1] if lines else "no output").strip()


def specialised_sources(generated: Path, model: Path | None, found: dict[str, Path]) -> Path:
    """The generated kernel sources for the model of firmware/generated/ (one line per layer left to CMSIS-NN)."""
    from vwwdeploy.firmware.qemu_build import specialised_sources as generate

    model = model or found["tflm"] / DEFAULT_MODEL
    kept = _model_sha(generated / "model_data.cc")
    if kept is not None and kept != hashlib.sha256(model.read_bytes()).hexdigest():
        raise UserError(
            f"{generated} holds another model than {model.name}: pass the model with --model to build generated kernels"
        )
    return generate(model)


def run_pio(
    root: Path,
    glue: pio_glue.Glue,
    env: EnvInfo,
    tree: Path,
    jobs: int | None,
    verbose: bool,
    specialised: Path | None = None,
) -> Path:
    cmd = [pio_glue.pio_executable(), "run", "-d", str(root), "-c", str(glue.ini), "-e", env.name]
    if jobs:
        cmd += ["-j", str(jobs)]
    environ = pio_glue.pio_environ(glue)
    environ["VWWDEPLOY_TFLM_TREE"] = str(tree)
    if specialised is not None:
        environ["VWWDEPLOY_SPECIALISED"] = str(specialised)
    log_path = root / pio_glue.BUILD_DIR / env.name / "vwwdeploy-build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if verbose:
        proc = subprocess.run(cmd, env=environ)
        log = ""
    else:
        proc = subprocess.run(cmd, env=environ, capture_output=True, text=True)
        log = proc.stdout + proc.stderr
        log_path.write_text(log, encoding="utf-8")
    if proc.returncode != 0:
        # The last good image of this env no longer matches firmware/generated: `firmware size` and `flash`
        # must not pick it up.
        for stale in ("firmware.elf", "firmware.bin", "vwwdeploy-size.json"):
            (log_path.parent / stale).unlink(missing_ok=True)
        where = f" (full log: {log_path})" if not verbose else ""
        if "overflowed" in log:
            raise UserError(f"{env.name}: the firmware does not fit the Edge's flash/RAM: {_first_error(log)}{where}")
        raise UserError(f"{env.name}: pio run failed: {_first_error(log)}{where}")
    return elf_path(root, env.name)


def elf_path(root: Path, env_name: str) -> Path:
    """The linked image: the apollo3blue platform names it `program` (no .elf suffix)."""
    folder = root / pio_glue.BUILD_DIR / env_name
    for name in ("program", "firmware.elf"):
        if (folder / name).is_file():
            return folder / name
    return folder / "program"


def build(
    env_names: list[str] | None = None,
    model: Path | None = None,
    jobs: int | None = None,
    verbose: bool = False,
    say=print,
    fetch: bool = True,
) -> list[size.SizeReport]:
    """Build the environments; missing upstream sources are git-cloned unless `fetch` is False."""
    root = project_root()
    ini = root / "platformio.ini"
    known = environments(ini)
    names = env_names or default_envs(ini) or list(known)
    for name in names:
        if name not in known:
            raise UserError(f"unknown environment {name!r}: choose from {', '.join(known)}")
    # A given model is checked (and its sources generated) before anything upstream is needed, so a
    # bad model fails in seconds with codegen's one-line reason on any machine.
    generated = generate_model_sources(root, model, {}) if model is not None else None
    found = deps_mod.locate(fetch=fetch)
    if generated is None:
        generated = generate_model_sources(root, None, found)
    glue = pio_glue.prepare(found, ini)
    reports = []
    for name in names:
        env = known[name]
        tree = tflm_tree.ensure_tree(env.flavour)
        specialised = specialised_sources(generated, model, found) if env.specialised else None
        what = f"generated kernels over {env.flavour}" if env.specialised else f"{env.flavour} kernels"
        say(f"building {name} ({what}) with PlatformIO; this takes minutes the first time")
        elf = run_pio(root, glue, env, tree, jobs, verbose, specialised)
        # A .elf name for `vwwdeploy flash`: from an ELF it knows the link address (0xC000, ASB),
        # which a .bin cannot tell it.
        shutil.copy2(elf, elf.parent / "firmware.elf")
        model_data = generated / "model_data.cc"
        report = size.measure(elf, name, generated / "model_settings.h", _model_len(model_data))
        size.write_report(report, elf.parent / "vwwdeploy-size.json")
        if not report.fits():
            raise UserError(
                f"{name}: {report.flash:,} B flash / {report.ram:,} B RAM exceeds the Edge's "
                f"{size.FLASH_LIMIT:,} / {size.RAM_LIMIT:,} B"
            )
        reports.append(report)
    return reports


def _model_sha(model_data: Path) -> str | None:
    if not model_data.is_file():
        return None
    m = re.search(r"sha256 ([0-9a-f]{64})", model_data.read_text(encoding="utf-8"))
    return m.group(1) if m else None


def _model_len(model_data: Path) -> int | None:
    if not model_data.is_file():
        return None
    m = re.search(r"kModelDataLen\s*=\s*(\d+)", model_data.read_text(encoding="utf-8"))
    return int(m.group(1)) if m else None
