"""Accuracy on a dataset split (default val) of a training checkpoint (EMA weights, float) or of a
.tflite model (LiteRT, int8 input = pixel - 128), both on the same eval-preprocessed images.
Prints the seed's `eval/Accuracy[...]` line, or JSON with --json."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, metavar="TRAIN_DIR", help="train dir (newest checkpoint)")
    source.add_argument("--model", type=Path, metavar="MODEL.tflite", help="a .tflite model")
    parser.add_argument("--dataset", type=Path, required=True, help="dataset folder or split folder")
    parser.add_argument(
        "--split",
        choices=["train", "val"],
        default="val",
        help="split of a dataset folder (ignored for a split folder)",
    )
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N images")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from vwwdeploy.errors import UserError
    from vwwdeploy.training.evaluation import evaluate_checkpoint, evaluate_tflite, format_accuracy

    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1")
    if args.checkpoint is not None:
        result = evaluate_checkpoint(args.checkpoint, args.dataset, args.split, args.limit)
    else:
        result = evaluate_tflite(args.model, args.dataset, args.split, args.limit)
    line = format_accuracy(result) + (" [SYNTHETIC dataset]" if result["synthetic"] else "")
    if args.json:
        print(line, file=sys.stderr)
        print(json.dumps(result, indent=2))
    else:
        print(line)
        print(f"{result['correct']} of {result['count']} images of {result['split']}")
    return 0
