"""`vwwdeploy emulate` bad input, each through the CLI in its own process: one clear line on stderr, a
non-zero exit, no traceback, and no qemu-system-arm process left behind. None of these needs a built
firmware: they stop before QEMU runs, or QEMU itself refuses the image."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def qemu_pids(marker: str) -> list[int]:
    """qemu-system-arm processes whose command line mentions `marker` (a /proc scan: no psutil)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"qemu-system-arm") and any(marker.encode() in a for a in argv):
            pids.append(int(entry.name))
    return pids


def run_cli(args: list[str], env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vwwdeploy.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
    )


def fake_elf(path: Path, size: int = 16) -> Path:
    path.write_bytes(b"\x7fELF" + b"\0" * (size - 4))
    return path


def assert_one_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert proc.stdout == "", proc.stdout  # no URL printed for a board that is not there
    return lines[0]


needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")


def test_qemu_absent(tmp_path):
    elf = fake_elf(tmp_path / "fw.elf")
    env = dict(os.environ, PATH=str(tmp_path / "empty-bin"))  # no qemu-system-arm on PATH
    proc = run_cli(["emulate", "--firmware", str(elf)], env=env)
    assert_one_line(proc, "qemu-system-arm not found", "install")
    assert proc.returncode == 2


@needs_qemu
@pytest.mark.parametrize("kernels", ["cmsis-nn", "reference"])
def test_firmware_not_built(tmp_path, kernels):
    env = dict(os.environ, VWWDEPLOY_CACHE=str(tmp_path / "cache"))  # an empty cache: nothing built
    proc = run_cli(["emulate", "--kernels", kernels], env=env)
    line = assert_one_line(
        proc,
        f"no QEMU firmware built for {kernels} kernels",
        f"vwwdeploy firmware build --board qemu --kernels {kernels}",
    )
    assert proc.returncode == 2, line


@needs_qemu
@pytest.mark.parametrize(
    "case,content,needle",
    [
        ("missing", None, "does not exist"),
        ("not an ELF", b"hello", "is not an ELF file"),
    ],
)
def test_bad_firmware_file(tmp_path, case, content, needle):
    path = tmp_path / "fw.elf"
    if content is not None:
        path.write_bytes(content)
    assert_one_line(run_cli(["emulate", "--firmware", str(path)]), needle)


@needs_qemu
def test_port_busy(tmp_path):
    elf = fake_elf(tmp_path / "fw.elf")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        proc = run_cli(["emulate", "--firmware", str(elf), "--port", str(port)])
    assert_one_line(proc, f"TCP port {port}", "busy")
    assert qemu_pids(str(elf)) == []


@needs_qemu
def test_qemu_refusing_the_image_is_one_line_and_no_orphan(tmp_path):
    # An "ELF" bigger than the 4 MB code memory: QEMU can load it neither as ELF nor as a raw image.
    elf = fake_elf(tmp_path / "huge.elf", size=5 * 1024 * 1024)
    proc = run_cli(["emulate", "--firmware", str(elf)])
    line = assert_one_line(proc, "QEMU exited with status", "did not boot")
    assert "load kernel" in line.lower(), line
    assert qemu_pids(str(elf)) == []


def test_bad_port_argument():
    proc = run_cli(["emulate", "--port", "70000"])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "expected a TCP port number" in proc.stderr


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["firmware", "build", "--board", "qemu", "--env", "sparkfun_edge"], "--env names PlatformIO environments"),
        (["firmware", "build", "--board", "qemu", "--model", "/nonexistent/m.tflite"], "no such model file"),
        (["firmware", "build", "--board", "qemu"], "not found"),  # empty cache: no TFLM checkout to build from
    ],
)
def test_firmware_build_board_qemu_bad_input(tmp_path, argv, needle):
    env = dict(os.environ, VWWDEPLOY_CACHE=str(tmp_path / "cache"))
    for var in [v for v in env if v.startswith("VWWDEPLOY_") and v.endswith("_DIR")]:
        del env[var]
    proc = run_cli(argv, env=env)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr
