"""Builds both SparkFun Edge environments with PlatformIO from the pinned upstream sources and
checks the size limits. Needs the upstream sources locally (`vwwdeploy firmware deps`, or
--tflm DIR ... / VWWDEPLOY_*_DIR) plus PlatformIO and arm-none-eabi-gcc; skips with the reason
otherwise. The first build of an environment compiles TFLM (minutes); later runs are incremental."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from vwwdeploy.cli import main
from vwwdeploy.errors import UserError
from vwwdeploy.firmware import build as build_mod
from vwwdeploy.firmware import deps, pio_glue, size

ENVS = ("sparkfun_edge", "sparkfun_edge_ref")
# The vendor driver calls the Edge board layer makes (firmware/boards/sparkfun_edge/hm01b0.cc).
VENDOR_FUNCTIONS = {
    "hm01b0_power_up",
    "hm01b0_mclk_enable",
    "hm01b0_init_if",
    "hm01b0_init_system",
    "hm01b0_get_modelid",
    "hm01b0_set_mode",
    "hm01b0_get_ae",
    "hm01b0_test_walking1s",  # SELFTEST's data-line check
}


def _deps_or_skip():
    for tool in ("pio", "arm-none-eabi-gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    try:
        return deps.locate()
    except UserError as exc:
        pytest.skip(f"upstream firmware sources not available locally: {exc}")


@pytest.mark.slow
def test_both_edge_environments_build_and_fit(capsys):
    found = _deps_or_skip()
    model = found["tflm"] / build_mod.DEFAULT_MODEL
    argv = ["firmware", "build", "--model", str(model), "--jobs", "2"]
    for env in ENVS:
        argv += ["--env", env]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    root = build_mod.project_root()
    for env in ENVS:
        report = json.loads((root / pio_glue.BUILD_DIR / env / "vwwdeploy-size.json").read_text())
        assert report["model"] == model.stat().st_size
        assert report["flash"] <= 450_000, f"{env}: {report['flash']:,} B flash over the 450,000 B target"
        assert report["ram"] <= size.RAM_LIMIT
        # The arena is a static array: RAM use must cover it and the 324x244 camera frame.
        assert report["ram"] > report["arena"] + 324 * 244
        assert f"{env}:" in out
        # The camera is brought up by the vendor HM01B0 driver compiled from the Edge BSP, with its init script.
        assert VENDOR_FUNCTIONS <= set(report["vendor_symbols"]), sorted(report["vendor_symbols"])
        nm = subprocess.run(
            ["arm-none-eabi-nm", "-S", str(root / pio_glue.BUILD_DIR / env / "firmware.elf")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # The vendor's ~70-register script (4-byte entries), included by hm01b0.cc (C++ mangles the name).
        script = re.search(r"^\S+ ([0-9a-f]+) \S (?:_ZL\d+)?sHM01B0InitScript$", nm, re.M)
        assert script and int(script.group(1), 16) >= 60 * 4, "vendor init script not linked"
        # Linked for the Ambiq secure bootloader every Edge ships with; `vwwdeploy flash` agrees.
        from vwwdeploy.link.flashing import firmware as flash_fw

        fw = flash_fw.load(root / pio_glue.BUILD_DIR / env / "firmware.elf")
        assert fw.load_address == 0xC000
        assert flash_fw.choose_protocol(fw, None) == "asb"

    # `firmware size` reads the same images.
    code = main(["firmware", "size", "--json"] + sum((["--env", e] for e in ENVS), []))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [r["env"] for r in json.loads(out)] == list(ENVS)
    assert all(VENDOR_FUNCTIONS <= set(r["vendor_symbols"]) for r in json.loads(out))


@pytest.mark.slow
def test_tflm_tree_is_generated_offline_from_scratch(tmp_path, monkeypatch):
    found = _deps_or_skip()
    monkeypatch.setenv("VWWDEPLOY_CACHE", str(tmp_path / "cache"))
    deps.record(found)  # a fresh cache that only knows where the checkouts are
    from vwwdeploy.firmware import tflm_tree

    tree = tflm_tree.ensure_tree("cmsis-nn")
    assert tree == tflm_tree.tree_dir("cmsis-nn") and tree.is_relative_to(tmp_path)
    meta = json.loads((tree / "tflm_flags.json").read_text())
    assert meta["flavour"] == "cmsis-nn" and meta["tflm_commit"] == deps.TFLM_COMMIT
    assert "CMSIS_NN" in meta["defines"] and "TF_LITE_STATIC_MEMORY" in meta["defines"]
    assert {"-mcpu=cortex-m4", "-mfloat-abi=hard", "-mthumb"} <= set(meta["cxxflags"])
    for rel in [
        "tensorflow/lite/micro/micro_interpreter.cc",
        "tensorflow/lite/micro/kernels/cmsis_nn/conv.cc",
        "third_party/cmsis_nn/Include/arm_nnfunctions.h",
        "third_party/flatbuffers/include/flatbuffers/flatbuffers.h",
        "third_party/cmsis/Cortex_DFP/Device/ARMCM4/Include/ARMCM4.h",
        "third_party/cmsis/CMSIS/Core/Include/m-profile/cmsis_gcc_m.h",
    ]:
        assert (tree / rel).is_file(), rel
    for include in meta["includes"]:
        assert (tree / include).is_dir(), include
    # TFLM's patch for flatbuffers was applied in the work copy the tree came from.
    work = tmp_path / "cache" / "tflm-work" / deps.TFLM_COMMIT[:12]
    assert (work / "tensorflow/lite/micro/tools/make/downloads/pigweed").is_dir()
    assert tflm_tree.ensure_tree("cmsis-nn") == tree  # second call reuses it


@pytest.mark.slow
def test_generated_kernel_environment_links_the_specialised_layers_and_fits(capsys):
    from vwwdeploy.model.kernels import generate

    found = _deps_or_skip()
    model = found["tflm"] / build_mod.DEFAULT_MODEL
    code = main(["firmware", "build", "--kernels", "generated", "--model", str(model), "--jobs", "2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    root = build_mod.project_root()
    env = "sparkfun_edge_generated"
    report = json.loads((root / pio_glue.BUILD_DIR / env / "vwwdeploy-size.json").read_text())
    assert report["flash"] <= size.FLASH_LIMIT and report["ram"] <= size.RAM_LIMIT
    nm = subprocess.run(
        ["arm-none-eabi-nm", "-C", str(root / pio_glue.BUILD_DIR / env / "firmware.elf")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Every layer the generator covers is linked, and the resolver registers the specialised convolutions.
    _, decisions = generate.sources(model)
    wanted = {d.layer.index for d in decisions if d.kernel}
    linked = {int(i) for i in re.findall(r"vww_kernels::\(anonymous namespace\)::layer(\d+)\(", nm)}
    assert wanted and linked == wanted
    assert "vww_kernels::Register_CONV_2D_SPECIALISED()" in nm
    assert "vww_kernels::Register_DEPTHWISE_CONV_2D_SPECIALISED()" in nm
