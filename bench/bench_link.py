"""Device-link efficiency (issue 4) on the paced simulated link, measured side by side in one run.

Link efficiency = frame payload bytes per second in the busy direction / line rate, where the line
rate at 921600 baud 8N1 is 92,160 bytes/s. Target >= 0.90 (a hex text protocol tops out at 0.50:
two characters per byte).

Cases (all on `vwwdeploy sim --baud 921600`, i.e. bytes paced at 10 bits each in both directions):
1. INFER round trips, host -> device payload (the 9,224-byte IMAGE), with 2 requests in flight
   (`Device.infer_many`, the default) and, for comparison, one at a time.
1b. The same images by staged transfer (`Device(staging="always")`: 36 STAGE chunks of 256 bytes, 2 in
   flight, then INFER_STAGED), on the same clean link, side by side with 1. Its payload counts the
   STAGE offsets and the INFER_STAGED body too; the fair comparison is the time per image, given as
   the ratio staged / whole-frame throughput. Then, on a second simulated board with 1e-3 faults per
   byte and a reset every 150 requests (where whole frames get through once in ~10,000 tries), the
   staged transfer's goodput: image bytes per second / line rate.
2. STREAM, device -> host payload (FRAME 96x96 + RESULT per group), with and without the raw
   324x244 frame.
The board's own inference time (the TFLM twin, reported in RESULT.latency_us) is printed next to the
wire time of one frame: pipelining only helps when the board receives the next request while it
computes, which the simulated board does (receiver, worker and transmitter threads).

Usage: python3 bench/bench_link.py [--model person_detect.tflite] [--images 30] [--baud 921600] [--repeat 3]
                                   [--markdown]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vwwdeploy.link import Device  # noqa: E402
from vwwdeploy.link.protocol.framing import OVERHEAD  # noqa: E402
from vwwdeploy.virtual_boards.sim import FaultConfig, start_sim_in_thread  # noqa: E402

DEFAULT_MODEL = REPO.parent / "shared" / "data" / "tflm_person_detection" / "person_detect.tflite"


def infer_case(url: str, xs: list[np.ndarray], window: int, line_rate: float, staging: str = "never") -> dict:
    timeout = 5.0 if staging == "never" else 0.5  # noisy link: a lost chunk should not idle the line long
    with Device(url, timeout=timeout, retries=40, staging=staging) as dev:
        info = dev.hello()
        dev.infer_many(xs[:2], window=window)  # warm up the path
        start_payload = dev.stats.payload_bytes_sent
        retries0 = dev.stats.retries
        t0 = time.perf_counter()
        results = dev.infer_many(xs, window=window)
        dt = time.perf_counter() - t0
        payload = dev.stats.payload_bytes_sent - start_payload
        retries = dev.stats.retries - retries0
    rate = payload / dt
    how = "staged (256-byte chunks)" if staging == "always" else "whole frames"
    return {
        "case": f"INFER {info.input.shape[1]}x{info.input.shape[2]}, {how}, {window} in flight",
        "image_bytes_per_s": sum(x.nbytes for x in xs) / dt,
        "items": len(xs),
        "seconds": dt,
        "payload_per_s": rate,
        "efficiency": rate / line_rate,
        "goodput": sum(x.nbytes for x in xs) / dt / line_rate,
        "per_item_ms": 1000 * dt / len(xs),
        "latency_ms": statistics.median(r.latency_us for r in results) / 1000,
        "retries": retries,
    }


def stream_case(url: str, count: int, raw: bool, line_rate: float) -> dict:
    with Device(url, timeout=5.0) as dev:
        dev.hello()
        stream = dev.stream(raw=raw, count=count + 2)
        next(stream), next(stream)  # the stream is running; measure from here
        start_payload = dev.stats.payload_bytes_received
        t0 = time.perf_counter()
        caps = [next(stream) for _ in range(count)]
        dt = time.perf_counter() - t0
        payload = dev.stats.payload_bytes_received - start_payload
        stream.close()
        dropped = dev.stats.stream_groups_dropped
    rate = payload / dt
    return {
        "case": f"STREAM 96x96{' + raw 324x244' if raw else ''}",
        "items": len(caps),
        "seconds": dt,
        "payload_per_s": rate,
        "efficiency": rate / line_rate,
        "per_item_ms": 1000 * dt / len(caps),
        "latency_ms": statistics.median(c.result.latency_us for c in caps) / 1000,
        "retries": dropped,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--baud", type=int, default=921_600)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is reported, with the worst")
    parser.add_argument("--noisy-images", type=int, default=12, help="images for the staged run on the noisy link")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    if not args.model.is_file():
        print(f"bench_link: model {args.model} not found (pass --model)", file=sys.stderr)
        return 2
    line_rate = args.baud / 10
    url, stop = start_sim_in_thread(args.model, baud=args.baud)
    try:
        with Device(url) as dev:
            shape = dev.hello().input.shape[1:]
        xs = list(np.random.default_rng(0).integers(-128, 128, size=(args.images, *shape), dtype=np.int8))
        cases = [
            lambda: infer_case(url, xs, 2, line_rate),
            lambda: infer_case(url, xs, 2, line_rate, staging="always"),
            lambda: infer_case(url, xs, 1, line_rate),
            lambda: stream_case(url, args.images, False, line_rate),
            lambda: stream_case(url, max(4, args.images // 3), True, line_rate),
        ]
        rows = []
        for case in cases:  # best of --repeat runs; the worst is reported too (the machine is shared)
            runs = [case() for _ in range(args.repeat)]
            best = max(runs, key=lambda r: r["efficiency"])
            best["worst"] = min(r["efficiency"] for r in runs)
            rows.append(best)
    finally:
        stop()
    # Staged transfer where whole frames cannot go: 1e-3 per byte, resets (one run per repeat, best shown).
    noisy_url, noisy_stop = start_sim_in_thread(args.model, baud=args.baud, faults=FaultConfig.uniform(1e-3, 150, 1))
    try:
        runs = [
            infer_case(noisy_url, xs[: args.noisy_images], 2, line_rate, staging="always") for _ in range(args.repeat)
        ]
    finally:
        noisy_stop()
    noisy = max(runs, key=lambda r: r["goodput"])
    noisy["worst"] = min(r["efficiency"] for r in runs)
    noisy["case"] += ", 1e-3 faults/byte + resets"
    rows.append(noisy)
    frame_ms = 1000 * (int(np.prod(shape)) + 8 + OVERHEAD) / line_rate
    if args.markdown:
        print(
            f"| case | items | payload bytes/s | efficiency (best of {args.repeat}) | worst | ms per item | "
            "board inference (median) | retries/dropped |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['case']} | {r['items']} | {r['payload_per_s']:,.0f} | **{r['efficiency']:.3f}** | "
                f"{r['worst']:.3f} | {r['per_item_ms']:.1f} | {r['latency_ms']:.1f} ms | {r['retries']} |"
            )
        print(
            f"\nLine rate {line_rate:,.0f} bytes/s ({args.baud} baud, 8N1); "
            f"one 96x96 INFER frame = {frame_ms:.1f} ms on the wire."
        )
        p2, p1 = rows[0]["efficiency"], rows[2]["efficiency"]
        print(f"Pipelining gain (2 in flight / 1 in flight): {p2 / p1:.2f}x.")
        whole, staged = rows[0], rows[1]
        print(
            f"Staged / whole-frame throughput on the clean link (best runs, same images): "
            f"{whole['per_item_ms'] / staged['per_item_ms']:.2f} "
            f"(goodput {staged['goodput']:.3f} vs {whole['goodput']:.3f} image bytes per line byte)."
        )
        print(
            f"Staged on the noisy link: goodput {noisy['goodput']:.3f}, {noisy['per_item_ms']:.0f} ms per image, "
            f"{noisy['retries']} retries for {noisy['items']} images."
        )
    else:
        for r in rows:
            print(
                f"{r['case']:<36} efficiency {r['efficiency']:.3f} (worst {r['worst']:.3f})  "
                f"{r['per_item_ms']:.1f} ms/item  "
                f"board {r['latency_ms']:.1f} ms  retries/dropped {r['retries']}"
            )
        print(f"frame wire time {frame_ms:.1f} ms")
        print(
            f"staged / whole throughput {rows[0]['per_item_ms'] / rows[1]['per_item_ms']:.2f}; "
            f"noisy staged goodput {noisy['goodput']:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
