"""Where the instructions go: instructions per operator on the emulated Cortex-M4 (issue 15), for several
kernel flavours of the same model, measured side by side in one run.

Each flavour is built with `--op-profile` (OpProfiler in firmware/core/tflm_classifier.cc) and runs under
`qemu-system-arm -M mps2-an386 -icount shift=0`; the firmware prints each op's instructions to QEMU's
log after the inference (vwwdeploy/model/op_profile.py). Input: the upstream person test image. The total in
RESULT also counts the profile's own printing, so the per-op sum is the figure to compare.

Usage: python3 bench/bench_op_profile.py [--model M.tflite] [--kernels reference,cmsis-nn] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vwwdeploy.firmware.qemu_build import build_qemu_firmware  # noqa: E402
from vwwdeploy.link.client import Device  # noqa: E402
from vwwdeploy.model.kernels.layers import read_layers  # noqa: E402
from vwwdeploy.model.op_profile import profile_inference  # noqa: E402
from vwwdeploy.virtual_boards.qemu import start_emulator  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
UPSTREAM = SHARED / "tflm_person_detection" / "person_detect.tflite"


def person_image() -> np.ndarray:
    img = Image.open(SHARED / "tflm_person_detection" / "derived" / "person_uint8.png").convert("L")
    return (np.asarray(img, dtype=np.int16) - 128).astype(np.int8).reshape(96, 96, 1)


def profile(kernels: str, model: Path, x: np.ndarray):
    build = build_qemu_firmware(kernels, model=model, op_profile=True)
    with start_emulator(firmware=build.elf, icount=True) as emu, Device(emu.url, timeout=300) as dev:
        ops, result = profile_inference(emu, dev, x)
    return ops, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=UPSTREAM)
    ap.add_argument("--kernels", default="reference,cmsis-nn", help="comma-separated kernel flavours, first = base")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    flavours = args.kernels.split(",")
    layers = read_layers(args.model)
    x = np.repeat(person_image(), layers[0].inputs[0].shape[3], axis=2)  # gray over a colour model's channels
    runs = {k: profile(k, args.model, x) for k in flavours}
    for k, (ops, _result) in runs.items():
        if [o.op for o in ops] != [layer.op for layer in layers]:
            raise SystemExit(f"{k}: the profile's ops differ from the model's ({len(ops)} vs {len(layers)})")
    totals = {k: sum(o.instructions for o in ops) for k, (ops, _) in runs.items()}
    last = flavours[-1]
    head = ["#", "op", "layer", "MACs"] + [f"{k} instr" for k in flavours] + [f"{last} instr/MAC", f"% of {last}"]
    print(
        f"model {args.model.name}; input: upstream person image; scores "
        + ", ".join(f"{k} {list(r.scores)}" for k, (_, r) in runs.items())
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for i, layer in enumerate(layers):
        cells = [str(i), layer.op, layer.describe(), f"{layer.macs:,}" if layer.macs else "-"]
        cells += [f"{runs[k][0][i].instructions:,}" for k in flavours]
        n = runs[last][0][i].instructions
        cells += [f"{n / layer.macs:.2f}" if layer.macs else "-", f"{100 * n / totals[last]:.1f}"]
        print("| " + " | ".join(cells) + " |")
    macs = sum(layer.macs for layer in layers)
    print(
        "| | **total (sum of ops)** | | "
        + f"{macs:,} | "
        + " | ".join(f"{totals[k]:,}" for k in flavours)
        + f" | {totals[last] / macs:.2f} | 100 |"
    )
    by_op: dict[str, dict[str, int]] = {}
    for k, (ops, _) in runs.items():
        for o in ops:
            key = o.op if o.op != "DEPTHWISE_CONV_2D" or layers[o.index].depth_multiplier == 1 else o.op + " (dm>1)"
            if o.op == "CONV_2D" and layers[o.index].inputs[1].shape[1:3] == (1, 1):
                key = "CONV_2D 1x1"
            by_op.setdefault(key, {}).setdefault(k, 0)
            by_op[key][k] += o.instructions
    print()
    print("| op kind | " + " | ".join(flavours) + f" | % of {last} |")
    print("|" + "---|" * (len(flavours) + 2))
    for key, per in sorted(by_op.items(), key=lambda kv: -kv[1][last]):
        print(
            f"| {key} | " + " | ".join(f"{per[k]:,}" for k in flavours) + f" | {100 * per[last] / totals[last]:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
