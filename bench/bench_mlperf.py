"""MLPerf Tiny VWW on the emulated board (issue 14): for each model x kernels, the QEMU firmware built with
`--app mlperf` runs under `-icount shift=0` and `vwwdeploy mlperf`'s runner drives it through the full
performance flow (calibration + 5 windows of `infer 20 5`) and the accuracy flow on an accuracy set.

Under -icount one virtual ns is one executed instruction, and the firmware's m-lap-us is that virtual time,
so instructions per inference = window elapsed us x 1000 / 20. The estimated Edge latency at F MHz is
instructions / F (one instruction per cycle: an optimistic ESTIMATE, no flash wait states or multi-cycle
loads counted). The device's top-1 is compared with the TFLM host twin's on the same u8 inputs.

Usage: python3 bench/bench_mlperf.py [--data DIR] [--files N] [--kernels cmsis-nn,reference]
                                     [--models mlperf,upstream] [--chunk-bytes 254] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vwwdeploy.apps.mlperf import metrics  # noqa: E402
from vwwdeploy.apps.mlperf.dataset import from_coco, read_accuracy_set  # noqa: E402
from vwwdeploy.apps.mlperf.dut import quantize_input  # noqa: E402
from vwwdeploy.apps.mlperf.runner import Runner, RunSettings  # noqa: E402
from vwwdeploy.firmware.qemu_build import build_qemu_firmware  # noqa: E402
from vwwdeploy.link.mlperf_dut import MlperfLink  # noqa: E402
from vwwdeploy.model.tflm_twin import TflmTwin  # noqa: E402
from vwwdeploy.paths import cache_dir  # noqa: E402
from vwwdeploy.virtual_boards.qemu import start_emulator  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
MODELS = {
    "mlperf": cache_dir() / "mlperf" / "vww_96_int8.tflite",
    "upstream": SHARED / "tflm_person_detection" / "person_detect.tflite",
}
CLOCKS_MHZ = (48, 96)


def twin_top1(model: Path, files) -> tuple[list[int], list[list[float]]]:
    preds, scores = [], []
    with TflmTwin(model) as twin:
        si, so = twin.inputs[0], twin.outputs[0]
        for f in files:
            q = twin.invoke(quantize_input(f.path.read_bytes(), si.shape, si.scale, si.zero_point, "int8")).reshape(-1)
            s = [float(f"{v:0.3f}") for v in (q.astype(np.float64) - so.zero_point) * so.scale]
            scores.append(s)
            preds.append(int(np.argmax(metrics.normalise(s))))
    return preds, scores


def run_one(model_name: str, kernels: str, files, chunk: int) -> dict:
    model = MODELS[model_name]
    t0 = time.monotonic()
    built = build_qemu_firmware(kernels, model=model, app="mlperf", jobs=2)
    build_s = time.monotonic() - t0
    row = {"model": model_name, "kernels": kernels, "elf": str(built.elf), "build_s": round(build_s, 1)}
    with start_emulator(kernels, icount=True, firmware=built.elf, app="mlperf") as emu:
        with MlperfLink(emu.url, timeout=10.0) as link:
            runner = Runner(link, RunSettings(timeout=10.0, chunk=chunk))
            dut = runner.identify()
            t0 = time.monotonic()
            perf = runner.performance(files, dut["model"])
            row["performance_wall_s"] = round(time.monotonic() - t0, 1)
            t0 = time.monotonic()
            acc = runner.accuracy(files, dut["model"])
            row["accuracy_wall_s"] = round(time.monotonic() - t0, 1)
            row["link"] = {"timeouts": link.stats.timeouts, "retried_steps": runner.retried_steps}
    elapsed = [w["elapsed_us"] for w in perf["windows"]]
    instr = statistics.median(elapsed) * 1000 / perf["windows"][0]["iterations"]
    twin_pred, twin_scores = twin_top1(model, files)
    dev_pred = [r["predicted"] for r in acc["files"]]
    labels = np.array([f.label for f in files])
    row.update(
        dut=dut,
        windows_elapsed_us=elapsed,
        window_spread=(max(elapsed) - min(elapsed)) / min(elapsed),
        performance_valid=perf["valid"],
        performance_errors=perf["errors"],
        virtual_latency_ms=perf["latency_ms"],
        instructions_per_inference=instr,
        estimated_ms={f"{mhz}MHz": instr / (mhz * 1e3) for mhz in CLOCKS_MHZ},
        files=len(files),
        device_top1=acc["top1"],
        device_auc=acc["auc"],
        twin_top1=float(np.mean(np.array(twin_pred) == labels)),
        top1_agreement=float(np.mean(np.array(twin_pred) == np.array(dev_pred))),
        scores_equal=float(np.mean([r["scores"] == s for r, s in zip(acc["files"], twin_scores)])),
    )
    return row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, help="accuracy set (default: built from the shared coco128 images)")
    ap.add_argument("--files", type=int, default=20, help="accuracy files used")
    ap.add_argument("--kernels", default="cmsis-nn,reference")
    ap.add_argument("--models", default="mlperf,upstream")
    ap.add_argument("--chunk-bytes", type=int, default=254)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    data = args.data
    if data is None:
        data = Path(tempfile.mkdtemp(prefix="bench-mlperf-")) / "set"
        coco = SHARED / "coco128_train2017"
        from_coco(coco / "annotations_coco_json" / "instances_train2017_coco128.json", coco / "images", data)
    files = read_accuracy_set(data, 96 * 96 * 3)[: args.files]
    rows = []
    for model_name in args.models.split(","):
        for kernels in args.kernels.split(","):
            print(f"{model_name} / {kernels} ...", file=sys.stderr, flush=True)
            rows.append(run_one(model_name, kernels, files, args.chunk_bytes))
            print(json.dumps(rows[-1], default=str), file=sys.stderr, flush=True)
    out = cache_dir() / "bench" / "mlperf.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2, default=str) + "\n")
    if args.markdown:
        print(
            "| model | kernels | instructions / inference | est. 48 MHz | est. 96 MHz | windows spread | "
            "top-1 device | top-1 twin | top-1 agreement | scores equal | AUC device |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['model']} | {r['kernels']} | {r['instructions_per_inference'] / 1e6:.2f} M | "
                f"{r['estimated_ms']['48MHz']:.0f} ms | {r['estimated_ms']['96MHz']:.0f} ms | "
                f"{100 * r['window_spread']:.3f}% | {100 * r['device_top1']:.1f}% | {100 * r['twin_top1']:.1f}% | "
                f"{100 * r['top1_agreement']:.0f}% | {100 * r['scores_equal']:.0f}% | {r['device_auc']:.3f} |"
            )
    print(f"written {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
