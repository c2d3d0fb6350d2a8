"""Demo benchmarks (issue 8), measured side by side in one run on this machine.

1. Does the page keep up with the board? Frames per second arriving at a page's event stream
   (`/events`, Server-Sent Events, what the browser receives) against a plain `Device.stream()` client,
   both on the same simulated board (`vwwdeploy sim --tcp` in its own process, the real person detector,
   three COCO pictures, no baud pacing so the board is as fast as this machine), rounds interleaved.
   Target: ratio >= 0.9 (the demo's board thread, JSON and base64 cost no frames).
2. Host cost of one frame on its way to the page (capture -> JSON view -> SSE bytes), with and without
   the raw sensor frame, as a fraction of the time that frame needs on a 921,600 baud UART.

Usage: python3 bench/bench_demo.py [--frames 60] [--rounds 3] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vwwdeploy.apps.demo import DemoServer  # noqa: E402
from vwwdeploy.apps.demo.hub import Event  # noqa: E402
from vwwdeploy.apps.demo.views import frame_view  # noqa: E402
from vwwdeploy.link import Device  # noqa: E402
from vwwdeploy.link.client import Capture  # noqa: E402
from vwwdeploy.link.protocol.messages import Result  # noqa: E402

SHARED = Path(os.environ.get("VWWDEPLOY_SHARED_DATA", REPO.parent / "shared" / "data"))
MODEL = SHARED / "tflm_person_detection" / "person_detect.tflite"
IMAGES = SHARED / "coco128_train2017" / "images"


def plain_fps(url: str, frames: int) -> float:
    with Device(url) as dev:
        dev.hello()
        stream = dev.stream()
        next(stream)  # the clock starts at the first frame, as for the page
        t = time.perf_counter()
        for _ in range(frames):
            next(stream)
        elapsed = time.perf_counter() - t
        stream.close()
    return frames / elapsed


def page_fps(url: str, frames: int) -> float:
    with DemoServer(url, ("127.0.0.1", 0)).start() as server:
        with urllib.request.urlopen(server.url + "events", timeout=60) as resp:
            seen, t = -1, None
            for line in resp:
                if line.startswith(b"event: frame"):
                    seen += 1
                    if seen == 0:
                        t = time.perf_counter()
                    elif seen == frames:
                        return frames / (time.perf_counter() - t)
    raise RuntimeError("the event stream ended early")


def view_cost_us(info, raw: bool, n: int = 300) -> float:
    rng = np.random.default_rng(0)
    cap = Capture(
        rng.integers(0, 256, (96, 96), dtype=np.uint8),
        rng.integers(0, 256, (244, 324), dtype=np.uint8) if raw else None,
        Result(np.array([-100, 100], np.int8), 12345, 0),
    )
    t = time.perf_counter()
    for i in range(n):
        Event.make("frame", frame_view(i, 0.0, cap, info, 10.0))
    return (time.perf_counter() - t) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    cam = Path(tempfile.mkdtemp())
    for name in sorted(p.name for p in IMAGES.glob("*.jpg"))[:3]:
        shutil.copy(IMAGES / name, cam / name)
    # The board in its own process, as a real one would be: the clients here do not share its GIL.
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vwwdeploy",
            "sim",
            "--model",
            str(MODEL),
            "--camera-dir",
            str(cam),
            "--tcp",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = sim.stdout.readline().strip()
    try:
        with Device(url) as dev:
            info = dev.hello()
        plain, page = [], []
        plain_fps(url, 10)  # warm-up: the sim's camera decodes each picture once
        for r in range(args.rounds):  # alternate who goes first, so drifting load hits both alike
            for which in (plain, page) if r % 2 == 0 else (page, plain):
                which.append((plain_fps if which is plain else page_fps)(url, args.frames))
    finally:
        sim.terminate()
        sim.wait(30)
        shutil.rmtree(cam)
    p, q = statistics.median(plain), statistics.median(page)
    uart_s = {False: (96 * 96 + 8 + 16 + 14 + 2 + 16) * 10 / 921_600}
    uart_s[True] = uart_s[False] + (324 * 244 + 8 + 16) * 10 / 921_600
    rows = [
        ("plain `Device.stream()` client, frames/s", f"{p:.1f}"),
        ("page event stream (`/events`), frames/s", f"{q:.1f}"),
        ("**page / plain**", f"**{q / p:.2f}**"),
    ]
    for raw in (False, True):
        cost = view_cost_us(info, raw)
        rows.append(
            (
                f"host cost per frame{' with --raw' if raw else ''} (view + JSON + base64)",
                f"{cost:.0f} us = {cost / 1e6 / uart_s[raw]:.2%} of its {uart_s[raw] * 1e3:.0f} ms at 921,600 baud",
            )
        )
    if args.markdown:
        print("| measurement | value |\n|---|---|")
        for k, v in rows:
            print(f"| {k} | {v} |")
    else:
        for k, v in rows:
            print(f"{k}: {v}")
    print(f"(medians of {args.rounds} interleaved rounds of {args.frames} frames; plain {plain}, page {page})")


if __name__ == "__main__":
    main()
