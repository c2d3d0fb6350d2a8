"""`vwwdeploy doctor` against the simulated board: a healthy board passes; every injected hardware fault
gives its own failing check with its hint; no board, a silent port and a bootloader instead of the
application each give one clear line and exit 3; --json has a stable shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vwwdeploy.apps import doctor
from vwwdeploy.cli import main
from vwwdeploy.errors import DeviceError
from vwwdeploy.testing.sim_asb import SimAsb
from vwwdeploy.testing.sim_svl import SimSvl
from vwwdeploy.virtual_boards.sim import start_sim_in_thread
from vwwdeploy.virtual_boards.sim.hardware import HardwareFaults

ROW_KEYS = {"check", "status", "figure", "hint", "source", "measured", "expected"}
HOST_CHECKS = ["port", "baud", "application", "protocol", "firmware", "model", "link"]


@pytest.fixture(scope="module")
def tiny_int8():
    from vwwdeploy.testing.tiny_models import tiny_model

    return tiny_model("int8")


@pytest.fixture
def sim(tiny_int8):
    started = []

    def start(camera=(), board=(), **kw):
        url, stop = start_sim_in_thread(tiny_int8, hardware=HardwareFaults.parse(list(camera), list(board)), **kw)
        started.append(stop)
        return url

    yield start
    for stop in started:
        stop()


def _doctor(capsys, *args) -> tuple[int, str, str]:
    code = main(["doctor", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_healthy_sim_passes(sim, tiny_int8, capsys):
    url = sim()
    code, out, err = _doctor(capsys, "--port", url, "--model", str(tiny_int8))
    assert code == 0, out + err
    assert f"{url}: all 28 checks pass" in out
    for name in HOST_CHECKS + ["sensor_id", "data_d7", "core_clock", "model_output", "link_errors"]:
        assert any(line.split()[:2] == [name, "pass"] for line in out.splitlines()), name
    assert "->" not in out  # no hints when nothing fails


def test_json_shape_is_stable(sim, tiny_int8, capsys):
    url = sim(["dark"])
    code, out, _ = _doctor(capsys, "--port", url, "--model", str(tiny_int8), "--json")
    assert code == 1
    data = json.loads(out)  # stdout is only the JSON document
    assert set(data) == {"schema", "port", "ok", "failed", "checks", "error"}
    assert data["schema"] == doctor.JSON_SCHEMA and data["port"] == url and data["ok"] is False
    assert data["failed"] == ["exposure_converged", "exposure_mean"] and data["error"] is None
    assert [c["check"] for c in data["checks"][:7]] == HOST_CHECKS
    for row in data["checks"]:
        assert set(row) == ROW_KEYS
        assert row["status"] in ("pass", "fail", "n/a")
        assert row["source"] in ("host", "board")
        assert (row["hint"] != "") == (row["status"] == "fail")
    mean = next(r for r in data["checks"] if r["check"] == "exposure_mean")
    assert mean["measured"] == 6 and mean["expected"] == 128 and mean["source"] == "board"


@pytest.mark.parametrize(
    "camera,board,failing,hint",
    [
        (["stuck-bit:5"], [], ["data_d5"], "D5 (GPIO 5) stuck low: reseat the camera ribbon"),
        (["stuck-high:2"], [], ["data_d2"], "D2 (GPIO 26) stuck high"),
        (["swap-bits:0:1"], [], ["data_d0", "data_d1"], "D0 and D1 disagree with the pattern: lines swapped"),
        (["no-sensor"], [], ["sensor_id"], "does not answer on I2C: reseat the camera ribbon"),
        (["no-vsync"], [], ["frame_rate"], "no VSYNC from the sensor"),
        (["short-lines"], [], ["pixels_per_line"], "320 pixels per line, not 324"),
        (["dark"], [], ["exposure_mean"], "the picture is dark: uncover the lens"),
        ([], ["slow-clock"], ["core_clock"], "the core runs at 24.000 MHz, not 48.000 MHz"),
        ([], ["stack-overflow"], ["stack"], "the stack is (nearly) overflowed"),
        ([], ["model-mismatch"], ["model_output"], "differs from what codegen's TFLM twin computed"),
    ],
)
def test_each_fault_fails_its_own_check_with_its_hint(sim, capsys, camera, board, failing, hint):
    url = sim(camera, board)
    code, out, _ = _doctor(capsys, "--port", url, "--json")
    assert code == 1
    data = json.loads(out)
    rows = {r["check"]: r for r in data["checks"]}
    for name in failing:
        assert rows[name]["status"] == "fail"
    assert hint in " | ".join(rows[name]["hint"] for name in failing)
    # The host's checks are not blamed for a hardware fault.
    assert all(rows[name]["status"] != "fail" for name in HOST_CHECKS + ["link_errors"])


def test_fault_hint_in_the_table(sim, capsys):
    url = sim(["stuck-bit:5"])
    code, out, _ = _doctor(capsys, "--port", url)
    assert code == 1
    lines = out.splitlines()
    i = next(i for i, line in enumerate(lines) if line.split()[:2] == ["data_d5", "FAIL"])
    # D5 is set in the pixels at x % 9 == 5 of the walking-ones pattern; the sim compares two whole frames.
    wrong = sum(1 for x in range(324) if x % 9 == 5) * 244 * 2
    assert f"{wrong:,} of {324 * 244 * 2:,} pixels wrong" in lines[i]
    assert lines[i + 1].strip().startswith("-> D5 (GPIO 5) stuck low: reseat the camera ribbon")
    assert lines[-1].endswith("1 of 28 checks FAIL: data_d5")


def test_model_mismatch_and_missing_model(sim, tmp_path, capsys):
    url = sim()
    other = tmp_path / "other.tflite"
    other.write_bytes(b"not the board's model")
    code, out, _ = _doctor(capsys, "--port", url, "--model", str(other), "--json")
    assert code == 1
    row = next(r for r in json.loads(out)["checks"] if r["check"] == "model")
    assert row["status"] == "fail" and "vwwdeploy firmware build --model" in row["hint"]
    code, out, err = _doctor(capsys, "--port", url, "--model", str(tmp_path / "absent.tflite"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no such file" in err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_no_board_is_one_line(capsys):
    code, out, err = _doctor(capsys, "--port", "/dev/ttyVWWNOPE0")
    assert code == 3 and out == ""
    assert "does not exist" in _one_line(err) and "plugged in" in err


def test_nothing_listening_is_one_line(capsys):
    code, _, err = _doctor(capsys, "--port", "socket://127.0.0.1:1")
    assert code == 3 and "nothing listens" in _one_line(err)


def test_silent_port_is_one_line(capsys):
    # A pty nobody answers on: the wrong port, or a board not running vwwdeploy.
    master, slave = os.openpty()
    try:
        code, _, err = _doctor(capsys, "--port", os.ttyname(slave), "--timeout", "0.3")
    finally:
        os.close(master)
        os.close(slave)
    assert code == 3
    line = _one_line(err)
    assert "no answer from" in line and "921600, 115200" in line and "is this its port?" in line


def test_json_when_no_board_answers(capsys):
    code, out, err = _doctor(capsys, "--port", "socket://127.0.0.1:1", "--json")
    assert code == 3
    data = json.loads(out)
    assert data["ok"] is False and data["checks"] == [] and "nothing listens" in data["error"]
    assert data["failed"] == ["connect"]
    _one_line(err)


def test_ambiq_bootloader_instead_of_the_app(capsys):
    with SimAsb(bauds=(921600, 115200)) as asb:
        code, _, err = _doctor(capsys, "--port", asb.port, "--timeout", "0.3")
    assert code == 3
    line = _one_line(err)
    assert "Ambiq bootloader answered" in line and "tap RST without holding button 14" in line


def test_svl_bootloader_instead_of_the_app(capsys):
    with SimSvl() as svl:
        code, _, err = _doctor(capsys, "--port", svl.port, "--timeout", "0.3")
    assert code == 3
    line = _one_line(err)
    assert "SparkFun bootloader (SVL) answered" in line and "vwwdeploy flash" in line


def test_wrong_baud_is_named(tiny_int8, monkeypatch):
    # A pty carries any baud, so script a board that answers only at 115200.
    import vwwdeploy.link as device_mod

    real_device, tried = device_mod.Device, []

    def device_at(url, baud, timeout, retries):
        tried.append(baud)
        dev = real_device(url, baud=baud, timeout=timeout, retries=retries)
        if baud != 115_200:
            dev.hello = lambda: (_ for _ in ()).throw(DeviceError("no answer"))
        return dev

    monkeypatch.setattr(device_mod, "Device", device_at)
    url, stop = start_sim_in_thread(tiny_int8)
    try:
        result = doctor.diagnose(url, baud=921_600, timeout=0.5, pings=2)
    finally:
        stop()
    assert tried == [921_600, 115_200]
    row = next(r for r in result.rows if r.check == "baud")
    assert row.status == "fail" and row.hint == "pass --baud 115200" and not result.ok


def test_cli_help_and_bad_input():
    proc = subprocess.run([sys.executable, "-m", "vwwdeploy", "doctor", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--model" in proc.stdout and "--json" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "vwwdeploy", "doctor", "--port", "loop://", "--baud", "0"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--baud" in proc.stderr


def test_firmware_without_selftest_fails_one_row(tiny_int8, monkeypatch, capsys):
    # An older firmware answers SELFTEST with UNKNOWN_TYPE: the host checks still run, one row says what to do.
    from vwwdeploy.link.protocol import messages as m
    from vwwdeploy.virtual_boards.sim.board import _Reply

    url, stop = start_sim_in_thread(tiny_int8)
    board = stop.board

    def old_answer(frame, gen, _orig=board._answer):
        if frame.type == m.MsgType.SELFTEST:
            raise _Reply(m.ErrorCode.UNKNOWN_TYPE, "type 0x0a")
        return _orig(frame, gen)

    monkeypatch.setattr(board, "_answer", old_answer)
    try:
        code, out, _ = _doctor(capsys, "--port", url, "--json")
    finally:
        stop()
    assert code == 1
    data = json.loads(out)
    assert data["failed"] == ["selftest"]
    row = next(r for r in data["checks"] if r["check"] == "selftest")
    assert row["figure"] == "not in this firmware" and "flash the firmware" in row["hint"]
