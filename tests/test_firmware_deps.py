"""Dependency resolution, PlatformIO glue, kernel selection and size accounting for the Edge
firmware build. Runs everywhere: upstream sources are faked with directories holding each
dependency's marker file; nothing here needs the network or the real checkouts."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from vwwdeploy.cli import main
from vwwdeploy.errors import UserError
from vwwdeploy.firmware import deps, pio_glue, size, tflm_tree
from vwwdeploy.firmware import tflm_sources as kernels


def fake_dep(root: Path, dep: deps.Dep) -> Path:
    d = root / dep.name
    (d / dep.marker).parent.mkdir(parents=True, exist_ok=True)
    (d / dep.marker).write_text("fake\n")
    return d


def run_cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_pins_are_full_commits_and_unique_names():
    assert len({d.name for d in deps.DEPS}) == len(deps.DEPS)
    for d in deps.DEPS:
        assert len(d.commit) == 40 and all(c in "0123456789abcdef" for c in d.commit), d.name
        assert d.url.startswith("https://github.com/") and d.url.endswith(".git")
    assert deps.BY_NAME["tflm"].commit == deps.TFLM_COMMIT


def test_local_dirs_on_the_command_line_are_recorded(cache, tmp_path, capsys):
    argv = ["firmware", "deps", "--offline"]
    for dep in deps.DEPS:
        argv += [dep.option, str(fake_dep(tmp_path / "given", dep))]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    recorded = json.loads((cache / "deps.json").read_text())
    assert set(recorded) == {d.name for d in deps.DEPS}
    assert recorded["tflm"]["path"] == str((tmp_path / "given" / "tflm").resolve())
    assert recorded["ambiqsdk"]["commit"] == deps.BY_NAME["ambiqsdk"].commit
    # locate() (what the build uses) returns the recorded directories without any argument.
    assert deps.locate()["cmsis_nn"] == (tmp_path / "given" / "cmsis_nn").resolve()


def test_environment_variables_and_cache_are_used(cache, tmp_path, monkeypatch):
    for dep in deps.DEPS:
        fake_dep(cache / "src", dep)
    monkeypatch.setenv("VWWDEPLOY_TFLM_DIR", str(fake_dep(tmp_path / "env", deps.BY_NAME["tflm"])))
    found = deps.resolve()
    assert found["tflm"] == (tmp_path / "env" / "tflm").resolve()
    assert found["ruy"] == (cache / "src" / "ruy").resolve()


def test_env_var_beats_recorded_dir(cache, tmp_path, monkeypatch):
    for dep in deps.DEPS:
        fake_dep(tmp_path / "recorded", dep)
    deps.record(deps.resolve({d.name: tmp_path / "recorded" / d.name for d in deps.DEPS}))
    monkeypatch.setenv("VWWDEPLOY_RUY_DIR", str(fake_dep(tmp_path / "env", deps.BY_NAME["ruy"])))
    assert deps.locate()["ruy"] == (tmp_path / "env" / "ruy").resolve()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["firmware", "deps", "--offline", "--tflm", "/nonexistent/tflm"], "is not a directory"),
        (["firmware", "deps", "--offline", "--cmsis-nn", "{empty}"], "does not look like"),
        (["firmware", "deps", "--offline"], "tflm not found: run `vwwdeploy firmware deps`"),
        (["firmware", "build", "--jobs", "0"], "--jobs must be at least 1"),
        (["firmware", "build", "--model", "/nonexistent/m.tflite"], "no such model file"),
        (["firmware", "build", "--env", "esp32"], "unknown environment 'esp32'"),
        (["firmware", "size", "--env", "esp32"], "unknown environment 'esp32'"),
        (["firmware", "build", "--op-profile"], "--op-profile needs --board qemu"),
        (["firmware", "build", "--kernels", "generated", "--env", "sparkfun_edge"], "leave out --kernels"),
        (["firmware", "build", "--app", "mlperf", "--env", "sparkfun_edge_generated"], "unknown environment"),
        (["firmware", "build", "--kernels", "generated", "--app", "mlperf"], "built for --board qemu only"),
    ],
)
def test_bad_input_gives_one_line(argv, message, cache, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    argv = [a.replace("{empty}", str(tmp_path / "empty")) for a in argv]
    code, out, err = run_cli(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err
    assert not (cache / "deps.json").exists()


def test_generated_kernel_env_is_known_by_its_option():
    from vwwdeploy.firmware import build as build_mod

    envs = build_mod.environments(build_mod.project_root() / "platformio.ini")
    assert envs["sparkfun_edge_generated"].specialised and envs["sparkfun_edge_generated"].flavour == "cmsis-nn"
    assert not any(e.specialised for name, e in envs.items() if name != "sparkfun_edge_generated")
    # Options come through `extends` chains: the MLPerf env of the reference build keeps its kernels.
    assert (
        envs["sparkfun_edge_ref_mlperf"].flavour == "reference" and envs["sparkfun_edge_mlperf"].flavour == "cmsis-nn"
    )


def test_generated_kernels_refuse_a_kept_model_of_another_sha(upstream_model, tmp_path):
    from vwwdeploy.firmware import build as build_mod

    (tmp_path / "model_data.cc").write_text("// 12 bytes, sha256 " + "0" * 64 + "\n")
    with pytest.raises(UserError, match="holds another model than"):
        build_mod.specialised_sources(tmp_path, upstream_model, {})


def test_too_big_model_is_refused_before_building(cache, tmp_path, capsys):
    model = tmp_path / "huge.tflite"
    model.write_bytes(b"\0" * (size.FLASH_LIMIT - 1000))
    code, out, err = run_cli(["firmware", "build", "--model", str(model)], capsys)
    assert code == 2 and "cannot fit in the Edge's 983,040 B flash" in err
    assert len(err.strip().splitlines()) == 1


def test_model_with_an_op_the_firmware_cannot_register(upstream_model, cache, tmp_path, capsys):
    from vwwdeploy.model.writer import make_custom_op

    model = tmp_path / "vela.tflite"
    model.write_bytes(make_custom_op(upstream_model.read_bytes(), "SOFTMAX", "ethos-u"))
    code, out, err = run_cli(["firmware", "build", "--model", str(model)], capsys)
    assert code == 2 and "CUSTOM:ethos-u" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_git_fetch_failure_is_one_line(cache, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    bad = deps.Dep("ruy", str(tmp_path / "no-such-repo"), "0" * 40, "x", "test")
    with pytest.raises(UserError, match=r"ruy: git fetch .* failed"):
        deps.git_fetch(bad, cache / "src" / "ruy")
    assert not (cache / "src" / "ruy").exists() and not (cache / "src" / "ruy.partial").exists()


def test_git_fetch_checks_out_the_pinned_commit(cache, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git = ["git", "-C", str(upstream), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    (upstream / "kiss_fft.h").write_text("v1\n")
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "v1"], check=True)
    pinned = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    (upstream / "kiss_fft.h").write_text("v2\n")
    subprocess.run(git + ["commit", "-q", "-am", "v2"], check=True)
    subprocess.run(git + ["config", "uploadpack.allowAnySHA1InWant", "true"], check=True)
    dep = deps.Dep("kissfft", f"file://{upstream}", pinned, "kiss_fft.h", "test")
    got = deps.git_fetch(dep, cache / "src" / "kissfft")
    assert (got / "kiss_fft.h").read_text() == "v1\n"


# --- PlatformIO glue -------------------------------------------------------------------------


def test_generated_ini_points_every_env_at_local_packages(tmp_path):
    repo_ini = Path(__file__).resolve().parent.parent / "platformio.ini"
    glue = pio_glue.Glue(
        root=tmp_path,
        core_dir=tmp_path / "core",
        platform_dir=tmp_path / "plat",
        framework_dir=tmp_path / "fw",
        toolchain_dir=tmp_path / "tc",
        ini=tmp_path / "p.ini",
    )
    pio_glue.write_ini(repo_ini, glue.ini, glue)
    import configparser

    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(glue.ini)
    envs = [s for s in cfg.sections() if s.startswith("env:")]
    assert {"env:sparkfun_edge", "env:sparkfun_edge_ref"} <= set(envs)
    for section in envs:
        assert cfg.get(section, "platform") == f"symlink://{tmp_path / 'plat'}"
        pkgs = cfg.get(section, "platform_packages")
        assert f"framework-ambiqsuitesdkapollo3-sfe@symlink://{tmp_path / 'fw'}" in pkgs
        assert f"toolchain-gccarmnoneeabi@symlink://{tmp_path / 'tc'}" in pkgs
    # The repo's own file stays portable: git URLs pinned to the same commits as deps.py.
    text = repo_ini.read_text()
    assert f"platform-apollo3blue.git#{deps.BY_NAME['platform_apollo3blue'].commit}" in text
    assert f"AmbiqSuiteSDK.git#{deps.BY_NAME['ambiqsdk'].commit}" in text
    assert "symlink://" not in text and "/root/" not in text


def test_platform_is_adapted_to_platformio_6(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "platform.json").write_text(json.dumps({"name": "apollo3blue", "engines": {"platformio": "<5"}}))
    (src / "platform.py").write_text("from platformio.managers.platform import PlatformBase\n")
    out = pio_glue.adapt_platform(src, tmp_path / "out")
    assert (
        "engines" not in json.loads((out / "platform.json").read_text())
        or "platformio" not in json.loads((out / "platform.json").read_text())["engines"]
    )
    assert "platformio.platform.base import PlatformBase" in (out / "platform.py").read_text()
    assert "<5" in (src / "platform.json").read_text()  # the source checkout is left untouched


def test_framework_package_swaps_in_the_bsps(tmp_path):
    sdk, bsps = tmp_path / "sdk", tmp_path / "bsps"
    (sdk / "mcu").mkdir(parents=True)
    (sdk / "boards_sfe").mkdir()  # the empty git submodule
    (bsps / "edge").mkdir(parents=True)
    out = pio_glue.compose_framework(sdk, bsps, tmp_path / "fw")
    assert (out / "boards_sfe" / "edge").is_dir() and (out / "mcu").is_dir()
    assert json.loads((out / "package.json").read_text())["version"] == "2.5.1"


def test_toolchain_version_follows_platformio_scheme(tmp_path):
    fake = tmp_path / "gcc"
    fake.write_text("#!/bin/sh\necho 12.2.1\n")
    fake.chmod(0o755)
    assert pio_glue.toolchain_version(str(fake)) == "1.120201.0"


# --- kernels and tree ------------------------------------------------------------------------


def test_kernel_selection_follows_the_resolver(tmp_path):
    header = tmp_path / "model_settings.h"
    header.write_text(
        "#define VWWDEPLOY_ADD_OPS(resolver) do { (resolver).AddConv2D(); (resolver).AddMaxPool2D(); } while (0)\n"
    )
    tree = tmp_path / "tree"
    for rel in [
        "kernel_util.cc",
        "micro_tensor_utils.cc",
        "conv_common.cc",
        "cmsis_nn/conv.cc",
        "pooling.cc",
        "pooling_common.cc",
        "softmax.cc",
    ]:
        p = tree / kernels.KERNELS_DIR / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("")
    methods = kernels.resolver_methods(header)
    assert methods == ["AddConv2D", "AddMaxPool2D"]
    picked = {Path(p).name for p in kernels.kernel_sources(tree, methods)}
    assert picked == {
        "kernel_util.cc",
        "micro_tensor_utils.cc",
        "conv_common.cc",
        "conv.cc",
        "pooling.cc",
        "pooling_common.cc",
    }
    with pytest.raises(UserError, match="AddLstm"):
        kernels.kernel_sources(tree, ["AddLstm"])


def test_every_op_codegen_accepts_has_kernels():
    from vwwdeploy.model.ops import RESOLVER_METHODS

    assert set(RESOLVER_METHODS.values()) <= set(kernels.KERNEL_FILES)


def test_tree_options_per_flavour():
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    cmsis = tflm_tree.make_options("cmsis-nn")
    ref = tflm_tree.make_options("reference")
    assert "TARGET=cortex_m_generic" in cmsis and "TARGET_ARCH=cortex-m4+fp" in cmsis
    assert "OPTIMIZED_KERNEL_DIR=cmsis_nn" in cmsis and not any("OPTIMIZED" in o for o in ref)
    assert any(o.startswith("TARGET_TOOLCHAIN_ROOT=/") and o.endswith("/") for o in cmsis)
    with pytest.raises(UserError, match="unknown kernel flavour"):
        tflm_tree.make_options("helium")


# --- size ------------------------------------------------------------------------------------


def test_size_of_a_real_elf(tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    src = tmp_path / "t.c"
    src.write_text(
        "int zeros[1000];\nint ones[10] = {1};\nconst char table[3000] = {7};\n"
        "int _start(void) { return zeros[ones[0]] + table[zeros[2]]; }\n"
    )
    elf = tmp_path / "t.elf"
    subprocess.run(
        ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-O1", "-o", str(elf), str(src)], check=True
    )
    settings = tmp_path / "model_settings.h"
    settings.write_text("constexpr int kArenaSize = 93792;\n")
    r = size.measure(elf, "t", settings, 300568)
    assert 3000 + 40 <= r.flash < 3000 + 40 + 1024
    assert r.ram == 4000 + 40
    assert r.arena == 93792 and r.fits()
    assert "flash" in r.lines()[1] and "93,792" in "\n".join(r.lines())


def test_size_lists_the_linked_vendor_camera_functions(tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    src = tmp_path / "t.c"
    src.write_text(
        "__attribute__((noinline)) int hm01b0_init_system(int a) { return a * 3 + 1; }\n"
        "int hm01b0_unused(int a) { return a - 7; }\n"
        "int hm01b0_table[4] = {1};\n"  # data, not a function: not listed
        "int other(int a) { return a; }\n"
        "int _start(void) { return hm01b0_init_system(hm01b0_table[0]) + other(2); }\n"
    )
    elf = tmp_path / "t.elf"
    subprocess.run(
        ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-O1", "-ffunction-sections"]
        + ["-Wl,--gc-sections", "-o", str(elf), str(src)],
        check=True,
    )
    r = size.measure(elf, "t")
    # Only what survived --gc-sections, i.e. what the firmware really calls.
    assert set(r.vendor_symbols) == {"hm01b0_init_system"} and r.vendor_symbols["hm01b0_init_system"] > 0
    assert any(line.strip().startswith("HM01B0 vendor driver") and "hm01b0_init_system" in line for line in r.lines())
    assert r.as_dict()["vendor_symbols"] == r.vendor_symbols


def test_size_of_missing_elf_is_one_line(tmp_path):
    with pytest.raises(UserError, match="build first"):
        size.measure(tmp_path / "nope.elf", "sparkfun_edge")


def test_library_sources_group_and_exclude(tmp_path):
    tree = tmp_path / "tree"
    for rel in [
        "tensorflow/lite/micro/micro_interpreter.cc",
        "tensorflow/lite/micro/test_helpers.cc",
        "signal/src/window.cc",
        "third_party/kissfft/kiss_fft.c",
        "third_party/cmsis_nn/Source/ConvolutionFunctions/arm_convolve_s8.c",
        f"{kernels.KERNELS_DIR}/kernel_util.cc",
        f"{kernels.KERNELS_DIR}/softmax.cc",
        f"{kernels.KERNELS_DIR}/add.cc",
    ]:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("")
    got = kernels.library_sources(tree, ["AddSoftmax"])
    assert got["core"] == ["tensorflow/lite/micro/micro_interpreter.cc"]
    assert got["cmsis_nn"] == ["third_party/cmsis_nn/Source/ConvolutionFunctions/arm_convolve_s8.c"]
    assert sorted(Path(f).name for f in got["kernels"]) == ["kernel_util.cc", "softmax.cc"]


@pytest.mark.parametrize(
    "log, expected",
    [
        (
            "Compiling a.o\nsrc/x.cc:3:1: error: 'foo' was not declared\nmore\n",
            "src/x.cc:3:1: error: 'foo' was not declared",
        ),
        (
            "Linking\nld: region `flash' overflowed by 1234 bytes\ncollect2: error: ld returned 1\n",
            "ld: region `flash' overflowed by 1234 bytes",
        ),
        (
            "Error: Could not find the package with 'platformio/tool-scons' requirements\n",
            "Error: Could not find the package with 'platformio/tool-scons' requirements",
        ),
        ("", "no output"),
    ],
)
def test_first_error_line_of_a_failed_pio_run(log, expected):
    from vwwdeploy.firmware.build import _first_error

    assert _first_error(log) == expected
