"""The SVL bootloader build (`vwwdeploy firmware build --bootloader svl`): its dependency is optional for every
other build, bad input is one line, and (when the pinned sources and the toolchain are there) the build links an
image the secure bootloader could start at 0xC000."""

from __future__ import annotations

import json
import shutil
import struct

import pytest

from vwwdeploy.cli import main
from vwwdeploy.errors import UserError
from vwwdeploy.firmware import deps, svl_build


def _fake_all(root, skip=()):
    for dep in deps.DEPS:
        if dep.name not in skip:
            (root / dep.name / dep.marker).parent.mkdir(parents=True, exist_ok=True)
            (root / dep.name / dep.marker).write_text("fake\n")


def test_firmware_builds_do_not_need_the_svl_source(cache):
    _fake_all(cache / "src", skip=("svl",))
    found = deps.locate()
    assert "svl" not in found and "tflm" in found
    with pytest.raises(UserError, match="svl not found: run `vwwdeploy firmware deps`"):
        deps.locate(names=("svl",))


def test_locating_the_svl_keeps_the_other_recorded_dirs(cache, tmp_path):
    _fake_all(tmp_path / "given")
    given = {d.name: tmp_path / "given" / d.name for d in deps.DEPS}
    deps.record(deps.resolve(given, names=deps.needed_by("firmware")))
    _fake_all(cache / "src")
    deps.locate(fetch=True, names=("svl", "ambiqsdk"))
    recorded = json.loads((cache / "deps.json").read_text())
    assert recorded["svl"]["path"] == str((cache / "src" / "svl").resolve())
    assert recorded["tflm"]["path"] == str((tmp_path / "given" / "tflm").resolve())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["firmware", "build", "--bootloader", "svl", "--board", "qemu"], "builds the SVL for the Edge alone"),
        (["firmware", "build", "--bootloader", "svl", "--env", "sparkfun_edge"], "builds the SVL for the Edge alone"),
        (["firmware", "build", "--bootloader", "svl", "--offline"], "not found: run `vwwdeploy firmware deps`"),
    ],
)
def test_bad_bootloader_build_input_is_one_line(argv, message, cache, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert not (cache / "build" / svl_build.RECORD).exists()


def test_no_svl_build_yet_names_the_command(cache):
    with pytest.raises(UserError, match=r"no SVL bootloader build: build it with `vwwdeploy firmware build "):
        svl_build.latest_svl()
    (cache / "build").mkdir(parents=True)
    (cache / "build" / svl_build.RECORD).write_text(json.dumps({"elf": str(cache / "gone.elf")}))
    with pytest.raises(UserError, match="is gone"):
        svl_build.latest_svl()


@pytest.mark.slow
def test_svl_builds_from_source_at_0xc000(tmp_path, monkeypatch):
    try:
        found = deps.locate(names=("svl", "ambiqsdk", "ambiq_bsps"))
    except UserError as e:
        pytest.skip(f"SVL or SDK sources not in the cache: {e}")
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    monkeypatch.setenv("VWWDEPLOY_CACHE", str(tmp_path / "cache"))
    built = svl_build.build_svl(found)
    data = built.bin.read_bytes()
    assert 4096 < len(data) <= svl_build.MAX_SIZE
    sp, reset = struct.unpack_from("<II", data)
    assert 0x10000000 < sp <= 0x10060000 and reset & 1 and 0xC000 <= reset & ~1 < 0xC000 + len(data)
    assert svl_build.latest_svl() == built.elf
    # A second build with nothing changed reuses the first (same key, nothing relinked).
    stamp = built.bin.stat().st_mtime_ns
    assert svl_build.build_svl(found).bin.stat().st_mtime_ns == stamp
