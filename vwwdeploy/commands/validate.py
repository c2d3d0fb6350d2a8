"""Check that a board computes what the host computes: send labelled images to one or more boards and
compare, on the very same int8 inputs, ground truth, LiteRT (optimized kernels), the TFLM host twin
(reference kernels), the board(s) and, with --checkpoint, the float Keras model. Writes report.json (a
stable shape for CI), report.html (self-contained, with plots) and results.csv into --report."""

from __future__ import annotations

import argparse
from pathlib import Path

from vwwdeploy.constants import DEFAULT_BAUD, REQUEST_TIMEOUT_S


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        action="append",
        required=True,
        metavar="URL",
        help="board port: /dev/ttyUSB0, socket://HOST:PORT or the pty `vwwdeploy sim` prints; "
        "repeat to shard the images across several boards in parallel",
    )
    parser.add_argument("--model", type=Path, required=True, help="the .tflite model the board(s) run")
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="labels CSV with columns file,label (images go through the camera pipeline), "
        "or a dataset folder/split from `vwwdeploy dataset build` (val split, eval preprocessing)",
    )
    parser.add_argument("--report", type=Path, required=True, help="report folder to write (replaced atomically)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")
    parser.add_argument("--checkpoint", type=Path, default=None, help="training folder: also run its float Keras model")
    parser.add_argument(
        "--force", action="store_true", help="run even when a board's model sha256 differs from --model"
    )
    parser.add_argument(
        "--camera-like",
        type=int,
        default=None,
        metavar="SEED",
        help="give the images a seeded camera-like look first (low light, noise, blur, gamma, vignetting)",
    )
    parser.add_argument("--baud", type=int, default=DEFAULT_BAUD, help="serial line rate")
    parser.add_argument(
        "--timeout", type=float, default=REQUEST_TIMEOUT_S, help="seconds to wait for each reply before retrying"
    )


def run(args: argparse.Namespace) -> int:
    from vwwdeploy.apps.validation.runner import validate
    from vwwdeploy.progress import say

    report = validate(
        args.port,
        args.model,
        args.data,
        args.report,
        limit=args.limit,
        checkpoint=args.checkpoint,
        force=args.force,
        baud=args.baud,
        timeout=args.timeout,
        camera_like_seed=args.camera_like,
    )
    for warning in report["warnings"]:
        say(f"[yellow]warning:[/] {warning}")

    def pct(v):
        return "n/a" if v is None else f"{100 * v:.2f}%"

    paths = report["paths"]
    accs = ", ".join(
        f"{name} {pct(paths[name]['accuracy'])}"
        for name in ("device", "twin", "litert", "float")
        if paths[name]["available"]
    )
    dvt = report["device_vs_twin"]
    print(f"{report['data']['count']} images on {len(report['boards'])} board(s); accuracy: {accs}")
    print(
        f"device vs TFLM twin: {pct(dvt['bit_exact_rate'])} bit-exact, max |delta| {dvt['max_abs_delta']}; "
        f"device vs LiteRT top-1 agreement {pct(report['device_vs_litert']['top1_agreement'])}"
    )
    for name in ("twin", "litert", "float"):
        if not paths[name]["available"] and (name != "float" or args.checkpoint is not None):
            say(f"[yellow]{name} path unavailable:[/] {paths[name]['reason']}")
    print(f"report: {args.report / 'report.html'}")
    return 0
