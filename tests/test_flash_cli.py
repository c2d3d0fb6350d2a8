"""`vwwdeploy flash` through the CLI: success against the simulated ASB, a table of bad inputs (one line, non-zero
exit, no traceback), and the PlatformIO upload hook running the real command line."""

from __future__ import annotations

import configparser
import os
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import serial

from vwwdeploy.cli import main
from vwwdeploy.firmware.build import env_option
from vwwdeploy.testing.fake_firmware import fake_binary, fake_elf
from vwwdeploy.testing.sim_asb import SimAsb
from vwwdeploy.testing.sim_pty import PtyDevice

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the simulated boards sit behind POSIX ptys")

REPO = Path(__file__).resolve().parents[1]


class Silent(PtyDevice):
    """A port with something plugged in that never answers (a board not in its bootloader)."""

    def run(self) -> None:
        while True:
            self.read_exact(1)


def test_cli_flashes_the_simulated_asb(tmp_path, capsys):
    data = fake_binary(50_000)
    (tmp_path / "firmware.bin").write_bytes(data)
    with SimAsb() as sim:
        code = main(["flash", "--port", sim.port, "--wait", "3", str(tmp_path / "firmware.bin")])
        assert sim.finished.wait(10)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert sim.errors == [] and sim.installed[: len(data)] == data
    assert out.startswith("flashed firmware.bin: 50,000 bytes at 0xC000 over ASB") and "921600 baud" in out
    assert "Hold button 14" in err


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    (tmp_path / name).write_bytes(data)
    return str(tmp_path / name)


# (case, argv builder, exit code, words the one-line message must contain)
BAD_INPUTS = [
    ("missing file", lambda t, p: [str(t / "nope.bin")], 2, "does not exist"),
    ("directory", lambda t, p: [str(t)], 2, "is a directory"),
    ("hex file", lambda t, p: [_write(t, "fw.hex", b":020000040000FA\n")], 2, "Intel HEX"),
    ("text file", lambda t, p: [_write(t, "notes.txt", b"hello")], 2, "is a '.txt' file, not a firmware image"),
    ("no extension", lambda t, p: [_write(t, "firmware", b"hello")], 2, "neither an ELF nor a .bin"),
    ("empty bin", lambda t, p: [_write(t, "fw.bin", b"")], 2, "is empty"),
    (
        "png renamed bin",
        lambda t, p: [_write(t, "fw.bin", b"\x89PNG\r\n\x1a\n" + bytes(100))],
        2,
        "Cortex-M vector table",
    ),
    (
        "x86 ELF",
        lambda t, p: [_write(t, "fw.elf", fake_elf(fake_binary(1000), machine=3))],
        2,
        "ELF for x86 (i386) (32-bit), not for the Edge's ARM Cortex-M4",
    ),
    (
        "host ELF",
        lambda t, p: [_write(t, "fw.elf", Path(os.path.realpath(sys.executable)).read_bytes())],
        2,
        "64-bit), not for the Edge's ARM Cortex-M4",
    ),
    (
        "ELF linked elsewhere",
        lambda t, p: [_write(t, "fw.elf", fake_elf(fake_binary(1000, 0x20000), base=0x20000))],
        2,
        "linked at 0x20000",
    ),
    (
        "ELF for the other loader",
        lambda t, p: ["--protocol", "asb", _write(t, "fw.elf", fake_elf(fake_binary(1000, 0x10000), base=0x10000))],
        2,
        "pass --protocol svl",
    ),
    ("too big", lambda t, p: [_write(t, "fw.bin", fake_binary(1_000_000))], 2, "fit the Edge's flash"),
    (
        "baud not a number",
        lambda t, p: ["--baud", "fast", _write(t, "fw.bin", fake_binary(1000))],
        2,
        "--baud must be a number",
    ),
    (
        "unsupported baud",
        lambda t, p: ["--baud", "12345", _write(t, "fw.bin", fake_binary(1000))],
        2,
        "not a rate the ASB speaks",
    ),
    ("zero wait", lambda t, p: ["--wait", "0", _write(t, "fw.bin", fake_binary(1000))], 2, "more than 0"),
    (
        "absent port",
        lambda t, p: ["--port", "/dev/ttyNOSUCH0", _write(t, "fw.bin", fake_binary(1000))],
        3,  # PortError, the one error of vwwdeploy.link.port (a port that cannot be opened: board side)
        "serial port /dev/ttyNOSUCH0 does not exist",
    ),
    ("busy port", lambda t, p: ["--port", p, _write(t, "fw.bin", fake_binary(1000))], 3, "is busy"),
    (
        "no bootloader",
        lambda t, p: ["--port", p, "--wait", "0.2", _write(t, "fw.bin", fake_binary(1000))],
        3,
        "no bootloader answered: hold button 14 and tap RST",
    ),
]


@pytest.mark.parametrize("case,argv,code,words", BAD_INPUTS, ids=[row[0] for row in BAD_INPUTS])
def test_bad_input_gives_one_clear_line(tmp_path, capsys, case, argv, code, words):
    with Silent() as device:
        holder = serial.Serial(device.port, exclusive=True) if case == "busy port" else None
        try:
            result = main(["flash", "--no-progress", *argv(tmp_path, device.port)])
        finally:
            if holder:
                holder.close()
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert result == code
    assert out == "" and "Traceback" not in err
    assert lines[-1].startswith("vwwdeploy flash: error: ") and words in lines[-1], err
    if case != "no bootloader":  # that one first tells the user what to press
        assert len(lines) == 1, err


def test_help_is_instant_and_mentions_the_buttons():
    done = subprocess.run(
        [sys.executable, "-m", "vwwdeploy", "flash", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "button 14" in done.stdout and "--protocol" in done.stdout


def _load_upload_command() -> str:
    return runpy.run_path(str(REPO / "tools" / "pio_upload.py"))["UPLOAD_COMMAND"]


def _subst(command: str, **values: str) -> list[str]:
    """What SCons does to PlatformIO's $UPLOADCMD before running it (longest names first)."""
    for key in sorted(values, key=len, reverse=True):
        command = command.replace("$" + key, values[key])
    return shlex.split(command)


def test_platformio_upload_command_runs_vwwdeploy_flash(tmp_path):
    data = fake_binary(30_000)
    (tmp_path / "firmware.bin").write_bytes(data)
    with SimAsb() as sim:
        argv = _subst(
            _load_upload_command(),
            PYTHONEXE=sys.executable,
            PROJECT_DIR=str(REPO),
            UPLOAD_PROTOCOL="asb",
            UPLOAD_PORT=sim.port,
            SOURCE=str(tmp_path / "firmware.bin"),
        )
        # From another directory and without PYTHONPATH, as PlatformIO would run it.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
        assert sim.finished.wait(10)
    assert done.returncode == 0, done.stderr
    assert sim.errors == [] and sim.installed[: len(data)] == data
    assert "over ASB" in done.stdout and "Hold button 14" in done.stderr


def test_platformio_upload_command_fails_with_one_line(tmp_path):
    argv = _subst(
        _load_upload_command(),
        PYTHONEXE=sys.executable,
        PROJECT_DIR=str(REPO),
        UPLOAD_PROTOCOL="asb",
        UPLOAD_PORT="/dev/ttyNOSUCH0",
        SOURCE=str(tmp_path / "firmware.bin"),
    )
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "does not exist" in done.stderr


def test_platformio_ini_uses_the_upload_command():
    ini = REPO / "platformio.ini"
    if not ini.exists():
        pytest.skip("platformio.ini not present in this checkout")
    config = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    config.read(ini)
    envs = [s for s in config.sections() if s.startswith("env:sparkfun_edge")]
    assert envs
    for section in envs:  # an env that `extends` another inherits its options, as in PlatformIO
        assert (env_option(config, section, "upload_command") or "").strip() == _load_upload_command(), section
        assert (env_option(config, section, "upload_protocol") or "asb").strip() in ("asb", "svl"), section


class _Port:
    def __init__(self, device, vid=None, description="n/a"):
        self.device, self.vid, self.description = device, vid, description


@pytest.mark.parametrize(
    "found,expected",
    [
        ([_Port("/dev/ttyS0"), _Port("/dev/ttyUSB0", 0x1A86, "USB Serial")], "/dev/ttyUSB0"),
        ([_Port("/dev/ttyS0")], "no USB serial port found"),
        (
            [_Port("/dev/ttyUSB0", 0x1A86), _Port("/dev/ttyACM0", 0x2341, "Arduino")],
            "several serial ports (/dev/ttyUSB0 (CH340), /dev/ttyACM0 (Arduino)): pass --port",
        ),
    ],
)
def test_port_autodetection(monkeypatch, found, expected):
    from vwwdeploy.errors import UserError
    from vwwdeploy.link import port as ports

    monkeypatch.delenv("VWWDEPLOY_PORT", raising=False)
    monkeypatch.setattr(ports.list_ports, "comports", lambda: found)
    if expected.startswith("/dev/"):
        assert ports.find_port() == expected
    else:
        with pytest.raises(UserError) as caught:
            ports.find_port()
        assert expected in str(caught.value)
    monkeypatch.setenv("VWWDEPLOY_PORT", "socket://127.0.0.1:7777")
    assert ports.find_port() == "socket://127.0.0.1:7777"


@pytest.mark.parametrize(
    "errno_,text,expected",
    [
        (13, "[Errno 13] could not open port /dev/ttyUSB0: Permission denied", "dialout group"),
        (16, "[Errno 16] Device or resource busy", "is busy"),
        (None, "something odd happened", "cannot open serial port /dev/ttyUSB0: something odd happened"),
    ],
)
def test_open_errors_are_explained(errno_, text, expected):
    from vwwdeploy.link.port import describe_open_error

    exc = serial.SerialException(errno_, text) if errno_ else serial.SerialException(text)
    message = describe_open_error("/dev/ttyUSB0", exc)
    assert expected in message and "\n" not in message
