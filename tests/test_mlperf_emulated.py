"""The MLPerf Tiny firmware mode (`firmware build --board qemu --app mlperf`) under QEMU, driven by
`vwwdeploy mlperf`: both flows complete, the scores equal the TFLM twin's (reference kernels: bit-exact by
construction; CMSIS-NN: measured equal on these files), and with --icount the board's m-lap-us is virtual
time, so every window takes the same number of instructions.

Needs qemu-system-arm, arm-none-eabi-gcc, the TFLM trees, the shared data and the MLPerf model; skips
otherwise. Builds are cached in `<cache>/build/`.
"""

from __future__ import annotations

import json
import shutil

import pytest
from mlperf_support import mlperf_model
from test_emulate_e2e import _require_tree

from vwwdeploy.apps.mlperf.dataset import from_coco, read_accuracy_set
from vwwdeploy.apps.mlperf.dut import start_dut_in_thread
from vwwdeploy.apps.mlperf.runner import Runner, RunSettings
from vwwdeploy.cli import main
from vwwdeploy.link.mlperf_dut import MlperfLink

pytestmark = [
    pytest.mark.skipif(
        shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
        reason="qemu-system-arm or arm-none-eabi-gcc not installed",
    ),
    pytest.mark.slow,
]
N_FILES = 6


@pytest.fixture(scope="module")
def accuracy_set(coco128, tmp_path_factory):
    out = tmp_path_factory.mktemp("mlperf") / "set"
    from_coco(coco128 / "annotations_coco_json" / "instances_train2017_coco128.json", coco128 / "images", out)
    return out


def _firmware(kernels, model):
    _require_tree(kernels)
    from vwwdeploy.firmware.qemu_build import build_qemu_firmware

    return build_qemu_firmware(kernels, model=model, app="mlperf").elf


def _twin_scores(model, files):
    url, dut = start_dut_in_thread(model)
    try:
        with MlperfLink(url) as link:
            return [r["scores"] for r in Runner(link).accuracy(files, "vww01")["files"]]
    finally:
        dut.stop()


@pytest.mark.parametrize("kernels", ["reference", "cmsis-nn"])
def test_accuracy_flow_equals_the_twin(kernels, accuracy_set, upstream_model):
    """The upstream detector (one channel: the board averages R, G and B) on both kernel flavours."""
    from vwwdeploy.virtual_boards.qemu import start_emulator

    files = read_accuracy_set(accuracy_set, 96 * 96 * 3)[:N_FILES]
    elf = _firmware(kernels, upstream_model)
    with start_emulator(kernels, firmware=elf, app="mlperf") as emu, MlperfLink(emu.url, timeout=10) as link:
        runner = Runner(link, RunSettings(timeout=10, chunk=254))
        dut = runner.identify()
        assert dut == {"name": "vwwdeploy-qemu_an386", "profile": "vwwdeploy MLPerf Tiny mode", "model": "vww01"}
        acc = runner.accuracy(files, dut["model"])
    assert [r["scores"] for r in acc["files"]] == _twin_scores(upstream_model, files)
    assert acc["count"] == N_FILES and runner.retried_steps == 0


def test_performance_flow_in_virtual_time(accuracy_set, tmp_path, capsys):
    """The MLPerf model, CMSIS-NN, under -icount through the CLI: 5 windows, each the same instruction count
    (to a timer tick per lap), a valid run (QEMU needs well over 10 s of host time)."""
    from vwwdeploy.virtual_boards.qemu import start_emulator

    model = mlperf_model()
    elf = _firmware("cmsis-nn", model)
    with start_emulator("cmsis-nn", icount=True, firmware=elf, app="mlperf") as emu:
        code = main(["mlperf", "--port", emu.url, "--mode", "performance", "--data", str(accuracy_set),
                     "--report", str(tmp_path / "r"), "--chunk-bytes", "254"])  # fmt: skip
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    perf = report["performance"]
    assert code == 0 and report["valid"], capsys.readouterr().err
    elapsed = [w["elapsed_us"] for w in perf["windows"]]
    assert max(elapsed) - min(elapsed) <= 2  # virtual microseconds: instructions / 1000
    assert 10e6 < elapsed[0] * 1000 / 20 < 100e6  # instructions per inference, a MobileNetV1-0.25 on CMSIS-NN
