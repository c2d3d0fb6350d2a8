"""Model-specialised kernels (`--kernels generated`) and the per-op instruction profile (`--op-profile`) on
the emulated board: the firmware built with the generated kernels gives the TFLM twin's exact scores (the
twin runs TFLM's reference kernels on the host), including on a model whose first layer the generator
refuses and CMSIS-NN runs. Needs QEMU, the toolchain, the generated CMSIS-NN TFLM tree and the shared
data; skips with the reason otherwise."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import UPSTREAM_EXPECTED_SCORES

from vwwdeploy.model.op_profile import OpCost, parse_profiles

needs_qemu = pytest.mark.skipif(
    shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
    reason="qemu-system-arm or arm-none-eabi-gcc not installed",
)


def test_parse_profiles_keeps_complete_blocks_only():
    log = "\n".join(
        [
            "qemu: some warning",
            "vww-op 0 CONV_2D 1200",
            "vww-op 1 SOFTMAX 80",
            "vww-op-end 2",
            "vww-op 0 CONV_2D 1240",  # cut short: no end line
            "vww-op 0 CONV_2D 1300",
            "vww-op-end 2",  # count disagrees with the lines seen
            "vww-op 0 CONV_2D 1280",
            "vww-op 1 SOFTMAX 40",
            "vww-op-end 2",
        ]
    )
    blocks = parse_profiles(log)
    assert blocks == [
        [OpCost(0, "CONV_2D", 1200), OpCost(1, "SOFTMAX", 80)],
        [OpCost(0, "CONV_2D", 1280), OpCost(1, "SOFTMAX", 40)],
    ]


def _require_cmsis_tree() -> None:
    from vwwdeploy.firmware import tflm_tree

    path = tflm_tree.tree_dir("cmsis-nn")
    if not (path / tflm_tree.COMPLETE).is_file():
        pytest.skip(f"no TFLM tree for cmsis-nn kernels at {path} (`python -m vwwdeploy.firmware.tflm_tree cmsis-nn`)")


def _inputs(images) -> dict[str, np.ndarray]:
    from PIL import Image

    return {
        name: (np.asarray(Image.open(p).convert("L"), dtype=np.int16) - 128).astype(np.int8).reshape(96, 96, 1)
        for name, p in images.items()
    }


@needs_qemu
@pytest.mark.slow
def test_op_profile_accounts_for_the_inference(upstream_model, upstream_test_images):
    from vwwdeploy.firmware.qemu_build import build_qemu_firmware
    from vwwdeploy.link.client import Device
    from vwwdeploy.model.kernels.layers import read_layers
    from vwwdeploy.model.op_profile import profile_inference
    from vwwdeploy.virtual_boards.qemu import start_emulator

    _require_cmsis_tree()
    elf = build_qemu_firmware("generated", model=upstream_model, op_profile=True).elf
    x = _inputs(upstream_test_images)["person"]
    with start_emulator(firmware=elf, icount=True) as emu, Device(emu.url, timeout=120) as dev:
        ops, result = profile_inference(emu, dev, x)
        again, _ = profile_inference(emu, dev, x)
    assert result.scores.tolist() == UPSTREAM_EXPECTED_SCORES["person"]
    assert [o.op for o in ops] == [layer.op for layer in read_layers(upstream_model)]
    assert all(o.instructions > 0 for o in ops)
    # RESULT also counts the interpreter between ops and the printing of the profile itself
    total = sum(o.instructions for o in ops)
    assert 0.95 * result.instructions < total < result.instructions
    # same input, same instructions per op (to the 40-instruction tick of the board's timer)
    assert all(abs(a.instructions - b.instructions) <= 80 for a, b in zip(ops, again))


@needs_qemu
@pytest.mark.slow
def test_generated_build_bit_exact_with_the_twin(upstream_model, upstream_test_images, coco_csv, tmp_path):
    import test_emulate_e2e as e2e

    from vwwdeploy.firmware.qemu_build import build_qemu_firmware

    _require_cmsis_tree()
    e2e._builds["generated"] = build_qemu_firmware("generated", model=upstream_model).elf
    report = e2e._validate_through_cli("generated", upstream_model, upstream_test_images, coco_csv, tmp_path, True)
    assert report["upstream_images"] == UPSTREAM_EXPECTED_SCORES
    assert report["boards"][0]["kernels"] == "generated"
    dvt = report["device_vs_twin"]
    assert dvt["count"] == 128
    assert dvt["bit_exact_rate"] == 1.0 and dvt["max_abs_delta"] == 0
    assert report["instructions"]["median"] > 1_000_000


@needs_qemu
@pytest.mark.slow
def test_generated_build_with_a_refused_layer_is_bit_exact(tmp_path):
    # The MLPerf Tiny VWW model: its first layer (3x3 CONV_2D on 3 channels) is refused and runs on
    # CMSIS-NN, the other 26 convolutions on the generated kernels; random inputs against the twin.
    from vwwdeploy.firmware.qemu_build import build_qemu_firmware
    from vwwdeploy.link.client import Device
    from vwwdeploy.model.tflm_twin import TflmTwin
    from vwwdeploy.paths import cache_dir
    from vwwdeploy.virtual_boards.qemu import start_emulator

    model = cache_dir() / "mlperf" / "vww_96_int8.tflite"
    if not model.is_file():
        pytest.skip(f"no MLPerf Tiny VWW model at {model}")
    _require_cmsis_tree()
    elf = build_qemu_firmware("generated", model=model).elf
    rng = np.random.default_rng(15)
    xs = [rng.integers(-128, 128, size=(96, 96, 3), dtype=np.int8) for _ in range(4)]
    xs.append(np.full((96, 96, 3), -128, np.int8))
    with TflmTwin(model) as twin:
        expected = [np.asarray(twin.invoke(x[None])).reshape(-1).astype(np.int8).tolist() for x in xs]
    with start_emulator(firmware=elf, icount=True) as emu, Device(emu.url, timeout=120) as dev:
        assert emu.info.kernels == "generated"
        got = [dev.infer(x).scores.tolist() for x in xs]
    assert got == expected
