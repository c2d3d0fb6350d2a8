"""Issue 21 item 2 as a user meets it: models that `vwwdeploy train` made at 128x128x1 and at width 0.35,
80x80x3 RGB go through `vwwdeploy validate --data labels.csv` (the camera path of protocol section 5) on the
simulated board and on the real firmware under QEMU, bit-exact with the TFLM twin; on QEMU the firmware's
own camera path (SET_FRAME + CAPTURE, both pipeline modes) gives the host's frame and the twin's scores.

The models are trained for 60 steps on the 128 shared COCO images without augmentation: enough for scores
that depend on the picture (both classes predicted, many distinct score pairs), which is what a bit-exact
comparison needs; the accuracy is not the point. Each train/export runs in its own process, as TFLM's
Python interpreter may abort the process on a model it cannot run. QEMU builds are cached by model bytes
under `<cache>/build/`; training is seeded, so later runs reuse them.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_emulate_cli import REPO, qemu_pids
from test_emulate_e2e import EmulateProcess, _require_tree

MODELS = {
    "gray128": (("--image-size", "128"), (128, 128, 1)),
    "rgb80": (("--width", "0.35", "--image-size", "80", "--rgb"), (80, 80, 3)),
}


def _cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "vwwdeploy.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"vwwdeploy {' '.join(args[:2])}: {proc.stderr[-2000:]}"
    return proc


@pytest.fixture(scope="module")
def trained(coco128, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("shapes")
    annotations = coco128 / "annotations_coco_json" / "instances_train2017_coco128.json"
    models = {}
    for name, (train_args, _) in MODELS.items():
        data = root / f"data-{name}"
        rgb = ("--rgb",) if "--rgb" in train_args else ()
        _cli("dataset", "build", "--annotations", str(annotations), "--images", str(coco128 / "images"), "--out",
             str(data), *rgb)  # fmt: skip
        run = root / f"run-{name}"
        _cli("train", "--dataset", str(data), "--train-dir", str(run), "--max-steps", "60", "--batch-size", "16",
             "--no-augment", "--seed", "0", *train_args)  # fmt: skip
        models[name] = root / f"{name}.tflite"
        _cli("export", "--checkpoint", str(run), "--dataset", str(data), "--out", str(models[name]))
    return models


class SimProcess:
    """`vwwdeploy sim --tcp` in its own process; `.url` from its first stdout line."""

    def __init__(self, model: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vwwdeploy.cli", "sim", "--model", str(model), "--tcp", "127.0.0.1:0"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("socket://"):
            self.kill()
            raise AssertionError(f"no URL from vwwdeploy sim: {self.url!r}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def _qemu_firmware(model: Path) -> Path:
    if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("qemu-system-arm or arm-none-eabi-gcc not installed")
    _require_tree("cmsis-nn")
    from vwwdeploy.firmware.qemu_build import build_qemu_firmware

    return build_qemu_firmware("cmsis-nn", model=model).elf


def _validate(url: str, model: Path, labels: Path, report: Path) -> dict:
    _cli("validate", "--port", url, "--model", str(model), "--data", str(labels), "--report", str(report),
         "--timeout", "60")  # fmt: skip
    return json.loads((report / "report.json").read_text())


def _check_report(report: dict, results_csv: Path, shape: tuple[int, int, int]) -> None:
    h, w, c = shape
    assert report["model"]["input"]["shape"] == [1, h, w, c]
    assert f"-> {w}x{h} by" in report["data"]["preprocessing"]
    dvt = report["device_vs_twin"]
    assert dvt["count"] == 128 and dvt["bit_exact_rate"] == 1.0 and dvt["max_abs_delta"] == 0, dvt
    rows = list(csv.DictReader(open(results_csv)))
    # Not a degenerate model: the comparison covers pictures of both answers and many distinct scores.
    assert {r["device_pred"] for r in rows} == {"0", "1"}
    assert len({r["device_scores"] for r in rows}) >= 16


def _check_firmware_camera_path(url: str, model: Path, shape: tuple[int, int, int]) -> None:
    from vwwdeploy.link.client import Device
    from vwwdeploy.link.protocol import pipeline
    from vwwdeploy.model.tflm_twin import TflmTwin

    h, w, c = shape
    raw = np.random.default_rng(21).integers(0, 256, pipeline.RAW_SHAPE, dtype=np.uint8)
    with TflmTwin(model) as twin, Device(url, timeout=60) as dev:
        spec = dev.hello().input
        dev.set_frame(raw)
        for mode in (0, 1):
            dev.set_pipeline(mode)
            cap = dev.capture()
            grey = pipeline.resample(raw, h, w, mode)
            assert np.array_equal(cap.frame if c == 3 else cap.frame[:, :, None], np.repeat(grey[:, :, None], c, 2))
            x = pipeline.camera_input(raw, h, w, c, spec.scale, spec.zero_point, mode)
            assert np.array_equal(cap.input.reshape(h, w, c), x)
            assert cap.result.scores.tolist() == twin.invoke(x[None]).reshape(-1).tolist()
        dev.set_pipeline(0)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_trained_model_validates_bit_exact_on_the_sim(trained, coco_csv, tmp_path, name):
    sim = SimProcess(trained[name])
    try:
        report = _validate(sim.url, trained[name], coco_csv, tmp_path / "report")
    finally:
        sim.kill()
    _check_report(report, tmp_path / "report" / "results.csv", MODELS[name][1])
    assert report["boards"][0]["board"] == "sim"


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_trained_model_validates_bit_exact_on_qemu(trained, coco_csv, tmp_path, name):
    elf = _qemu_firmware(trained[name])
    emu = EmulateProcess("--firmware", str(elf), "--kernels", "cmsis-nn")
    try:
        _check_firmware_camera_path(emu.url, trained[name], MODELS[name][1])
        report = _validate(emu.url, trained[name], coco_csv, tmp_path / "report")
        code, err = emu.interrupt()
        assert code == 0 and "Traceback" not in err, err
    finally:
        emu.kill()
    assert qemu_pids(emu.marker) == []
    _check_report(report, tmp_path / "report" / "results.csv", MODELS[name][1])
    assert report["boards"][0]["board"] == "qemu_an386"
