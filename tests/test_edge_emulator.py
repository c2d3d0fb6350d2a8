"""The exact SparkFun Edge image (`vwwdeploy firmware build`, env sparkfun_edge) on the emulated Apollo3: boot to
HELLO/INFO over the socket UART, the upstream test images' scores, and `vwwdeploy validate` bit-exact with the
TFLM twin. Needs unicorn, the cached AmbiqSuite SDK (its SVD) and a built Edge image; skips with the reason."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import UPSTREAM_EXPECTED_SCORES
from PIL import Image

pytest.importorskip("unicorn", reason="unicorn (the emulated Edge's CPU core) is not installed")

from vwwdeploy.virtual_boards.edge import svd  # noqa: E402
from vwwdeploy.virtual_boards.edge.board import default_firmware, start_edge  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def edge(upstream_model):
    elf = default_firmware()
    if not svd.svd_path().is_file():
        pytest.skip(f"the AmbiqSuite SDK is not in the firmware cache ({svd.svd_path()}): `vwwdeploy firmware deps`")
    if not elf.is_file():
        pytest.skip(f"no Edge build at {elf}: `vwwdeploy firmware build --offline`")
    emu = start_edge(elf)
    if emu.info.model_sha256 != hashlib.sha256(upstream_model.read_bytes()).hexdigest():
        emu.stop()
        pytest.skip(f"the Edge build at {elf} embeds another model than the upstream person detector")
    yield emu
    emu.stop()


@pytest.mark.slow
def test_edge_image_boots_and_scores_the_upstream_images(edge, upstream_test_images):
    from vwwdeploy.link.client import Device

    assert edge.info.board == "sparkfun_edge"
    assert edge.info.clock_hz == 48_000_000
    assert edge.info.kernels == "cmsis-nn"  # the Edge build said "unknown" before vww_pre.py defined the flavour
    with Device(edge.url, timeout=60) as dev:
        for name, path in upstream_test_images.items():
            x = (np.asarray(Image.open(path).convert("L"), dtype=np.int16) - 128).astype(np.int8)
            assert dev.infer(x).scores.tolist() == UPSTREAM_EXPECTED_SCORES[name]
    assert edge.alive(), edge.exit_reason()


@pytest.mark.slow
def test_validate_on_the_emulated_edge_is_bit_exact(edge, upstream_model, coco_csv, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vwwdeploy.cli",
            "validate",
            "--port",
            edge.url,
            "--model",
            str(upstream_model),
            "--data",
            str(coco_csv),
            "--limit",
            "3",
            "--report",
            str(tmp_path / "report"),
            "--timeout",
            "120",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    dvt = report["device_vs_twin"]
    assert dvt["count"] == 3
    assert dvt["bit_exact_rate"] == 1.0 and dvt["max_abs_delta"] == 0
    assert edge.alive(), edge.exit_reason()
