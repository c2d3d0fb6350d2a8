"""Run the whole pipeline offline on a built-in default: a small SYNTHETIC two-class image set
(procedurally drawn figures vs clutter), dataset build, short training, evaluation, int8 export,
inspection, C source generation, and validation on the simulated board. `--pretrained` uses the
upstream TFLM person detector (downloaded from a pinned tflite-micro commit, sha256-checked) instead
of training."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    from vwwdeploy.apps.quickstart_defaults import PRETRAINED_URL

    parser.add_argument("--out", type=Path, default=Path("quickstart-out"), help="output folder")
    parser.add_argument("--images", type=int, default=400, help="synthetic images to draw (1/5 become val)")
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--batch-size", type=int, default=32, help="training batch size")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic images")
    parser.add_argument(
        "--pretrained", action="store_true", help="use the upstream person detector instead of training"
    )
    parser.add_argument("--pretrained-url", default=PRETRAINED_URL, help="where --pretrained downloads from")


def run(args: argparse.Namespace) -> int:
    from vwwdeploy.apps.quickstart import run_quickstart

    return run_quickstart(args)
