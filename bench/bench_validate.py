"""validate benchmark (issue 4): does sharding over several boards pay? Side by side in one run.

Simulated boards paced at 921600 baud (the link, not the host CPU, is the bottleneck, as with real Edges),
the upstream person detector, N real COCO images through the CSV camera path. Measures the device phase's
images per second (report.json link.images_per_s) with 1 board and with 2 boards, interleaved rounds,
best of each; the host paths (TFLM twin, LiteRT) run alongside and are not part of the device rate.

Usage: python3 bench/bench_validate.py [--images 32] [--rounds 2] [--markdown]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vwwdeploy.apps.validation.runner import validate  # noqa: E402
from vwwdeploy.virtual_boards.sim import start_sim_in_thread  # noqa: E402

DATA = Path(os.environ.get("VWWDEPLOY_SHARED_DATA", REPO.parent / "shared" / "data"))
MODEL = DATA / "tflm_person_detection" / "person_detect.tflite"
COCO128 = DATA / "coco128_train2017"
BAUD = 921_600


def labels_csv(folder: Path) -> Path:
    out = folder / "labels.csv"
    with open(COCO128 / "person_presence.csv", newline="") as fh:
        rows = [(COCO128 / "images" / f"{r['stem']}.jpg", r["vww_label"]) for r in csv.DictReader(fh)]
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "label"])
        w.writerows(rows)
    return out


def run(boards: int, data: Path, out: Path, images: int) -> dict:
    sims = [start_sim_in_thread(MODEL, baud=BAUD, tcp=True) for _ in range(boards)]
    try:
        report = validate([url for url, _ in sims], MODEL, data, out, limit=images, baud=BAUD, show_progress=False)
    finally:
        for _, stop in sims:
            stop()
    assert report["device_vs_twin"]["bit_exact_rate"] == 1.0
    return report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = labels_csv(tmp)
        run(1, data, tmp / "warm", 2)  # LiteRT's repaired model is cached per process
        rates = {1: [], 2: []}
        payload = {1: [], 2: []}
        for r in range(args.rounds):
            for n in (1, 2):
                rep = run(n, data, tmp / f"r{n}-{r}", args.images)
                rates[n].append(rep["link"]["images_per_s"])
                moved = rep["link"]["payload_bytes_sent"] + rep["link"]["payload_bytes_received"]
                payload[n].append(moved / rep["link"]["wall_s"] / n / (BAUD / 10))
    one, two = max(rates[1]), max(rates[2])
    rows = [
        (f"device images/s, 1 vs 2 paced sims ({args.images} images)", f"{one:.2f}", f"{two:.2f}", f"{two / one:.2f}x"),
        (
            "payload bytes/s per board / line rate (byte = 10 bits), 1 vs 2 sims",
            f"{max(payload[1]):.3f}",
            f"{max(payload[2]):.3f}",
            f"{max(payload[2]) / max(payload[1]):.2f}x",
        ),
    ]
    if args.markdown:
        print("| measurement | first | second | second / first |\n|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        for row in rows:
            print("  ".join(row))


if __name__ == "__main__":
    main()
