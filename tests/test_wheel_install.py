"""Issue 21 item 1: the wheel carries the firmware project, and an installed wheel builds, emulates and validates
QEMU firmware from a folder outside any checkout.

The wheel is built from the tracked files only (a stale build/ or firmware/generated/ cannot leak in) and
installed into a fresh venv that sees this machine's site-packages for the heavy wheels (TensorFlow), with
no network. The end-to-end test gives the installed tool its own cache in which only the upstream sources and
the compiled TFLM library are shared (symlinks), so the firmware application is compiled from the wheel's copy.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_emulate_e2e import _require_tree

REPO = Path(__file__).resolve().parents[1]


def _tracked_copy(dest: Path) -> Path:
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    )
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to know the tracked files")
    src = _tracked_copy(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("vwwdeploy-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(root)], check=True)
    pip = [str(root / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(pip, check=True, capture_output=True)
    return root


def _run(venv: Path, *args: str, cwd: Path, env: dict | None = None, timeout: float = 600):
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_wheel_holds_the_firmware_project_and_nothing_of_a_checkout(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    project = "vwwdeploy/firmware/project/"
    for needed in (
        "platformio.ini",
        "firmware/boards/qemu_an386/Makefile",
        "firmware/boards/sparkfun_edge/board_sparkfun_edge.cc",
        "firmware/core/command_loop.cc",
        "firmware/platformio/vww_pre.py",
        "firmware/kernels/vww_kernel_lib.h",
        "tools/pio_upload.py",
    ):
        assert project + needed in names, needed
    assert not [n for n in names if n.startswith(project + "firmware/generated/")]
    assert not [n for n in names if n.startswith(project + "firmware/tests/")]
    assert not [n for n in names if "__pycache__" in n]


def test_installed_wheel_finds_its_firmware_in_the_cache_from_any_folder(venv, tmp_path):
    cache = tmp_path / "cache"
    probe = (
        "import vwwdeploy; from vwwdeploy.firmware.project import project_root, is_project; "
        "r = project_root(); print(vwwdeploy.__file__); print(r); print(is_project(r))"
    )
    proc = _run(venv, "python", "-c", probe, cwd=tmp_path, env={"VWWDEPLOY_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr
    module, root, ok = proc.stdout.split()
    assert Path(module).is_relative_to(venv)  # the wheel, not this checkout's editable install
    assert Path(root).parent == cache / "project" and ok == "True"
    # The same content unpacks once: a second command builds in the same folder.
    again = _run(venv, "python", "-c", probe, cwd=tmp_path, env={"VWWDEPLOY_CACHE": str(cache)})
    assert again.stdout.split()[1] == root
    assert len(list((cache / "project").iterdir())) == 1


def _cache_sharing_upstream(cache: Path) -> Path:
    """A cache for the installed tool with the user cache's upstream sources and TFLM objects, nothing else."""
    from vwwdeploy.paths import cache_dir

    user = cache_dir()
    (cache / "build").mkdir(parents=True)
    for name in ("src", "tflm-tree", "tflm-work", "deps.json"):
        if (user / name).exists():
            (cache / name).symlink_to(user / name)
    for obj in (user / "build").glob("qemu-tflm-*"):
        (cache / "build" / obj.name).symlink_to(obj)
    return cache


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
    reason="qemu-system-arm or arm-none-eabi-gcc not installed",
)
def test_installed_wheel_builds_emulates_and_validates(venv, tmp_path, upstream_model, coco128):
    _require_tree("cmsis-nn")
    cache = _cache_sharing_upstream(tmp_path / "cache")
    env = {"VWWDEPLOY_CACHE": str(cache)}
    work = tmp_path / "anywhere"
    work.mkdir()
    built = _run(
        venv, "vwwdeploy", "firmware", "build", "--board", "qemu", "--model", str(upstream_model), cwd=work, env=env
    )
    assert built.returncode == 0, built.stderr[-2000:]
    builds = [p for p in (cache / "build").iterdir() if p.name.startswith("qemu-cmsis-nn-plain-")]
    assert len(builds) == 1 and not builds[0].is_symlink()  # compiled here, from the wheel's sources
    assert str(cache / "project") in (builds[0] / "make.log").read_text()  # the sources make compiled

    with open(coco128 / "person_presence.csv", newline="") as fh:
        rows = [(coco128 / "images" / f"{r['stem']}.jpg", r["vww_label"]) for r in csv.DictReader(fh)][:4]
    labels = work / "labels.csv"
    labels.write_text("file,label\n" + "".join(f"{f},{v}\n" for f, v in rows))

    emu = subprocess.Popen(
        [str(venv / "bin" / "vwwdeploy"), "emulate"],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        url = emu.stdout.readline().strip()
        assert url.startswith("socket://"), emu.stderr.read() if emu.poll() is not None else url
        report = work / "report"
        proc = _run(
            venv,
            "vwwdeploy",
            "validate",
            "--port",
            url,
            "--model",
            str(upstream_model),
            "--data",
            str(labels),
            "--report",
            str(report),
            "--timeout",
            "60",
            cwd=work,
            env=env,
            timeout=900,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    finally:
        emu.kill()
        emu.wait()
    import json

    dvt = json.loads((report / "report.json").read_text())["device_vs_twin"]
    assert dvt["count"] == 4 and dvt["bit_exact_rate"] == 1.0
    assert not (work / ".pio").exists() and not (work / "firmware").exists()  # nothing written where it ran
