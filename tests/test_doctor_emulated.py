"""`vwwdeploy doctor` on the real firmware under QEMU (reference and CMSIS-NN builds): every check passes,
the camera checks are not applicable (no camera on mps2-an386), the clock, stack and model checks ran."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_emulate_e2e import REPO, EmulateProcess, firmware

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kernels", ["reference", "cmsis-nn"])
@pytest.mark.parametrize("icount", [False, True], ids=["host-time", "icount"])
def test_doctor_passes_on_the_emulated_board(upstream_model, kernels, icount):
    elf = firmware(kernels, upstream_model)
    emu = EmulateProcess("--firmware", str(elf), "--kernels", kernels, *(["--icount"] if icount else []))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "vwwdeploy.cli", "doctor", "--port", emu.url, "--model", str(upstream_model)]
            + ["--json", "--timeout", "20"],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=600,
        )
    finally:
        emu.interrupt()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    rows = {r["check"]: r for r in data["checks"]}
    assert data["ok"] and data["failed"] == []
    assert rows["application"]["figure"].startswith("vwwdeploy on qemu_an386")
    assert rows["model"]["status"] == "pass"
    for name in ("sensor_id", "data_d5", "frame_rate", "exposure_mean", "heap"):
        assert rows[name]["status"] == "n/a"
    # Measured on the board: SysTick against timer0, the painted stack, the built-in vector bit-exact.
    assert rows["core_clock"]["status"] == "pass" and rows["core_clock"]["expected"] == 25_000_000
    assert 0 < rows["stack"]["measured"] < rows["stack"]["expected"]
    assert rows["arena"]["status"] == "pass" and rows["arena"]["measured"] > 0
    assert rows["model_output"]["status"] == "pass" and rows["model_output"]["measured"] == 0
