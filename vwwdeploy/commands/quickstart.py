"""Run the whole pipeline offline on a built-in default: a small synthetic two-class image set
(procedurally drawn, labelled SYNTHETIC everywhere), dataset build, short training, evaluation,
int8 export, C source generation, and validation on the simulated board. `--pretrained` uses the
upstream TFLM person detector instead of training (downloaded from a pinned commit, sha256-checked)."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("quickstart-out"), help="output folder")
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--images", type=int, default=400, help="synthetic images to draw")
    parser.add_argument("--pretrained", action="store_true", help="use the upstream person detector instead of training")


def run(args: argparse.Namespace) -> int:
    from vwwdeploy.quickstart import run_quickstart

    return run_quickstart(args)
