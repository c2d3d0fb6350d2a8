"""Builds both SparkFun Edge environments with PlatformIO from the pinned upstream sources and
checks the size limits. Needs the upstream sources locally (`vwwdeploy firmware deps`, or
--tflm DIR ... / VWWDEPLOY_*_DIR) plus PlatformIO and arm-none-eabi-gcc; skips with the reason
otherwise. The first build of an environment compiles TFLM (minutes); later runs are incremental."""

from __future__ import annotations

import json
import shutil

import pytest

from vwwdeploy.cli import main
from vwwdeploy.errors import UserError
from vwwdeploy.firmware import build as build_mod
from vwwdeploy.firmware import deps, pio_glue, size

ENVS = ("sparkfun_edge", "sparkfun_edge_ref")


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
        # Linked for the Ambiq secure bootloader every Edge ships with; `vwwdeploy flash` agrees.
        from vwwdeploy.flashing import firmware as flash_fw

        fw = flash_fw.load(root / pio_glue.BUILD_DIR / env / "firmware.elf")
        assert fw.load_address == 0xC000
        assert flash_fw.choose_protocol(fw, None) == "asb"

    # `firmware size` reads the same images.
    code = main(["firmware", "size", "--json"] + sum((["--env", e] for e in ENVS), []))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [r["env"] for r in json.loads(out)] == list(ENVS)
