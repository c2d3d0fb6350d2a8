"""The target table (vwwdeploy/targets.py) and the two build files that cannot import it say the same.

platformio.ini must have one env per Edge target with the target's kernels and app, and no Edge env the table
lacks; the QEMU Makefile and the Edge build compile for the table's CPU.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from vwwdeploy import targets
from vwwdeploy.cli import main
from vwwdeploy.firmware import build as build_mod
from vwwdeploy.firmware.project import project_root

ROOT = project_root()


def _ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    parser.read(path, encoding="utf-8")
    return parser


def ini_disagreements(ini: Path) -> list[str]:
    parser = _ini(ini)
    envs = {s[4:] for s in parser.sections() if s.startswith("env:")}
    wanted = {t.env: t for t in targets.TARGETS if t.board is targets.EDGE}
    found = [f"platformio.ini lacks env {name}" for name in sorted(wanted.keys() - envs)]
    found += [f"env {name} is not in vwwdeploy/targets.py" for name in sorted(envs - wanted.keys())]
    for name in sorted(envs & wanted.keys()):
        target, section = wanted[name], f"env:{name}"
        flavour = build_mod.env_option(parser, section, "custom_tflm_kernels") or "cmsis-nn"
        generated = build_mod.env_option(parser, section, "custom_vww_kernels") == "generated"
        flags = (build_mod.env_option(parser, section, "build_flags") or "").replace("${edge.build_flags}", "")
        flags += " " + parser.get("edge", "build_flags")
        defines = tuple(sorted(re.findall(r"-D(VWW_APP_\w+)", flags)))
        if flavour != target.tflm_flavour or generated != (target.kernels == "generated"):
            found.append(f"env {name} builds {flavour}{' + generated' if generated else ''}, table: {target.kernels}")
        upload = build_mod.env_option(parser, section, "upload_protocol")
        if upload != target.bootloader:
            found.append(f"env {name} uploads with {upload}, table: {target.bootloader}")
        if defines != target.defines:
            found.append(f"env {name} defines {defines}, table: {target.defines}")
        if not set(targets.EDGE.cpu_flags) <= set(flags.split()):
            found.append(f"env {name} does not compile for {' '.join(targets.EDGE.cpu_flags)}")
    return found


def test_platformio_ini_has_exactly_the_edge_targets():
    assert ini_disagreements(ROOT / "platformio.ini") == []


def test_the_check_catches_a_missing_env_and_wrong_kernels(tmp_path):
    text = (ROOT / "platformio.ini").read_text()
    text = re.sub(r"\[env:sparkfun_edge_ref_mlperf\].*?(?=\n\[|\Z)", "", text, flags=re.S)
    text = text.replace("custom_tflm_kernels = reference", "custom_tflm_kernels = cmsis-nn")
    (tmp_path / "platformio.ini").write_text(text)
    problems = ini_disagreements(tmp_path / "platformio.ini")
    assert "platformio.ini lacks env sparkfun_edge_ref_mlperf" in problems
    assert any(p.startswith("env sparkfun_edge_ref builds cmsis-nn") for p in problems)


def test_qemu_makefile_compiles_for_the_tables_cpu():
    makefile = (ROOT / "firmware" / "boards" / "qemu_an386" / "Makefile").read_text()
    arch = re.search(r"^ARCH_FLAGS\s*:=\s*(.+)$", makefile, re.M).group(1).split()
    assert tuple(arch) == targets.QEMU_AN386.cpu_flags


def test_qemu_linker_script_matches_the_tables_memory():
    script = (ROOT / "firmware" / "boards" / "qemu_an386" / "an386.ld").read_text()
    regions = {
        m.group(1): (int(m.group(2), 16), int(m.group(3)) * 1024 * 1024)
        for m in re.finditer(r"(\w+)\s*\([rwx]+\)\s*:\s*ORIGIN\s*=\s*(0x[0-9A-Fa-f]+),\s*LENGTH\s*=\s*(\d+)M", script)
    }
    board = targets.QEMU_AN386
    assert regions["CODE"] == (board.flash_base, board.flash_bytes)
    assert regions["RAM"] == (board.sram_base, board.sram_bytes)


def test_every_board_kernels_app_is_one_target_with_its_own_name():
    names = [t.env for t in targets.TARGETS]
    assert len(names) == len(set(names))
    for t in targets.TARGETS:
        assert targets.find(t.board.name, t.kernels, t.app, t.bootloader) is t and targets.by_env(t.env) is t
    assert targets.by_env("sparkfun_edge_svl").link_address == 0x10000
    assert targets.by_env("sparkfun_edge").link_address == 0xC000


@pytest.mark.parametrize(
    "argv, envs",
    [
        ([], ["sparkfun_edge"]),
        (["--kernels", "reference"], ["sparkfun_edge_ref"]),
        (["--kernels", "generated"], ["sparkfun_edge_generated"]),
        (["--app", "mlperf"], ["sparkfun_edge_mlperf"]),
        (["--kernels", "reference", "--app", "mlperf"], ["sparkfun_edge_ref_mlperf"]),
        (["--env", "sparkfun_edge", "--env", "sparkfun_edge_ref", "--app", "mlperf"], None),
        (["--env", "sparkfun_edge_svl"], ["sparkfun_edge_svl"]),
    ],
)
def test_firmware_build_picks_the_env_from_the_table(argv, envs, monkeypatch):
    picked = []

    def fake_build(names, *args, **kwargs):
        picked.extend(names)
        return []

    monkeypatch.setattr(build_mod, "build", fake_build)
    assert main(["firmware", "build", "--offline", *argv]) == 0
    assert picked == (envs or ["sparkfun_edge_mlperf", "sparkfun_edge_ref_mlperf"])
