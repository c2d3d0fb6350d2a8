"""Fine-tuning on a small set (issue 13 item 5), measured in one run with the CLI as a user runs it.

Data: the shared coco128_train2017 (128 COCO train2017 pictures, `person_presence.csv`'s vww_label) built with
`dataset build --csv ... --val-fraction 0.25 --seed 0`: a fixed per-class split (96 train / 32 val), once plain
and once with `--camera-like 0` (same split: it depends only on labels and seed).

Rows (validation accuracy of the float model, EMA weights, eval preprocessing):
  a. the upstream detector as it is (`import`), b. it fine-tuned (`train --init-from`), c. the same network
  trained from scratch with the same steps and batch (slim recipe), each on plain and camera-like val;
  b'. fine-tuned on the camera-like train split.
  An RGB MobileNetV1-0.25 (MLPerf Tiny layout: FULLY_CONNECTED head) made here: trained from scratch on the RGB
  build, exported int8, then `import --grayscale` and evaluated on gray val, before and after fine-tuning.
Also: wall time of each fine-tune on this machine.

Usage: nice -n 5 python3 bench/bench_fine_tune.py [--steps 200] [--batch-size 32] [--work DIR] [--markdown]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VWWDEPLOY_SHARED_DATA", REPO.parent / "shared" / "data"))
COCO128 = SHARED / "coco128_train2017"
UPSTREAM = SHARED / "tflm_person_detection" / "person_detect.tflite"


def vww(*args: str) -> tuple[str, float]:
    """Run `vwwdeploy ARGS` in a child process; (stdout, wall seconds). Fails loudly."""
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "vwwdeploy", *args], env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"vwwdeploy {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout, wall


def accuracy(train_dir: Path, dataset: Path) -> float:
    out, _ = vww("evaluate", "--checkpoint", str(train_dir), "--dataset", str(dataset), "--json")
    return float(json.loads(out)["accuracy"])


def labels_csv(path: Path) -> Path:
    with open(COCO128 / "person_presence.csv", newline="") as fh, open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "label"])
        for row in csv.DictReader(fh):
            writer.writerow([COCO128 / "images" / f"{row['stem']}.jpg", row["vww_label"]])
    return path


def rgb_mlperf_style(work: Path, rgb_ds: Path, steps: int, batch: int) -> Path:
    """A 96x96x3 MobileNetV1-0.25 with a FULLY_CONNECTED head, trained from scratch here, as int8 .tflite."""
    run = work / "rgb-scratch"
    vww("train", "--dataset", str(rgb_ds), "--train-dir", str(run), "--rgb", "--max-steps", str(steps),
        "--batch-size", str(batch), "--log-every-steps", "50")  # fmt: skip
    code = f"""
import sys, keras, numpy as np
sys.path.insert(0, {str(REPO)!r})
from vwwdeploy.training.checkpoint import load_float_model
from vwwdeploy.training.export import convert_int8, calibration_pixels
from vwwdeploy.training.evaluation import open_eval_split
model, config = load_float_model({str(run)!r}, batch_size=1)
logits = model.get_layer("logits")
flat = keras.layers.Flatten()(model.get_layer("avg_pool").output)
dense = keras.layers.Dense(2, name="dense")
out = keras.layers.Softmax()(dense(flat))
dense.set_weights([logits.get_weights()[0][0, 0], logits.get_weights()[1]])
fc = keras.Model(model.inputs, out)
pixels = calibration_pixels(open_eval_split({str(rgb_ds)!r}), 96, 3, 64)
open({str(work / "rgb_fc.tflite")!r}, "wb").write(convert_int8(fc, pixels))
"""
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return work / "rgb_fc.tflite"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--work", type=Path, default=Path("/tmp/vwwdeploy-bench-fine-tune"))
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    if not COCO128.is_dir() or not UPSTREAM.is_file():
        raise SystemExit(f"needs the shared test data in {SHARED}")
    work = args.work
    if work.exists():
        raise SystemExit(f"{work} exists; remove it or pass another --work")
    work.mkdir(parents=True)
    steps, batch = str(args.steps), str(args.batch_size)
    table = labels_csv(work / "labels.csv")
    split = ["--csv", str(table), "--val-fraction", "0.25", "--seed", "0", "--workers", "1"]
    plain, camera, rgb = work / "plain", work / "camera", work / "rgb"
    vww("dataset", "build", *split, "--out", str(plain))
    vww("dataset", "build", *split, "--out", str(camera), "--camera-like", "0")
    vww("dataset", "build", *split, "--out", str(rgb), "--rgb")

    results: dict = {"steps": args.steps, "batch_size": args.batch_size}
    upstream = work / "upstream"
    vww("import", str(UPSTREAM), "--out", str(upstream))
    tune = ["--max-steps", steps, "--batch-size", batch]

    def fine_tune(name: str, source, dataset: Path, *extra: str) -> Path:
        run = work / name
        _, wall = vww("train", "--init-from", str(source), "--dataset", str(dataset), "--train-dir", str(run),
                      *tune, *extra)  # fmt: skip
        record = json.loads((run / "fine_tune.json").read_text())
        results[f"{name}_wall_seconds"] = round(wall, 1)
        results[f"{name}_train_seconds"] = record["seconds"]
        results[f"{name}_best_step"] = record["best_step"]
        return run

    tuned = fine_tune("fine_tuned", upstream, plain)
    tuned_camera = fine_tune("fine_tuned_camera", upstream, camera)
    scratch = work / "scratch"
    _, wall = vww("train", "--dataset", str(plain), "--train-dir", str(scratch), *tune, "--log-every-steps", "50")
    results["scratch_wall_seconds"] = round(wall, 1)
    rows = {
        "a. upstream detector as it is": upstream,
        "b. fine-tuned from it (plain train)": tuned,
        "b'. fine-tuned from it (camera-like train)": tuned_camera,
        "c. same network from scratch, same steps": scratch,
    }
    results["rows"] = {name: {"plain": accuracy(d, plain), "camera": accuracy(d, camera)} for name, d in rows.items()}

    rgb_model = rgb_mlperf_style(work, rgb, args.steps, args.batch_size)
    results["rgb_int8_on_rgb_val"] = float(
        json.loads(vww("evaluate", "--model", str(rgb_model), "--dataset", str(rgb), "--json")[0])["accuracy"]
    )
    gray = work / "rgb-gray"
    vww("import", str(rgb_model), "--out", str(gray), "--grayscale")
    gray_tuned = fine_tune("rgb_gray_fine_tuned", gray, plain)
    results["grayscale_rows"] = {
        "RGB model --grayscale, as converted": {"plain": accuracy(gray, plain), "camera": accuracy(gray, camera)},
        "RGB model --grayscale, fine-tuned": {
            "plain": accuracy(gray_tuned, plain),
            "camera": accuracy(gray_tuned, camera),
        },
    }
    print(json.dumps(results, indent=2))
    if args.markdown:
        print("\n| model | val accuracy, plain | val accuracy, camera-like |\n|---|---|---|")
        for group in ("rows", "grayscale_rows"):
            for name, r in results[group].items():
                print(f"| {name} | {r['plain']:.3f} | {r['camera']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
