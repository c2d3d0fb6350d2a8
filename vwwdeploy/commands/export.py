"""Export a training checkpoint (EMA weights) to a full-integer int8 .tflite (int8 input and output,
input scale 2/255 and zero point -1, i.e. device input = pixel - 128), batch 1, using only the ops
AVERAGE_POOL_2D, CONV_2D, DEPTHWISE_CONV_2D, RESHAPE, SOFTMAX. Calibrated on val images preprocessed as in
evaluation; then compares float and int8 accuracy on the same val images."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True, metavar="TRAIN_DIR", help="train dir")
    parser.add_argument(
        "--dataset", type=Path, required=True, help="dataset folder (its val/ split is used) or a split folder"
    )
    parser.add_argument("--out", type=Path, required=True, help="output .tflite file")
    parser.add_argument("--calibration-images", type=int, default=300, help="representative set size")
    parser.add_argument("--eval-limit", type=int, default=None, help="compare float/int8 on the first N val images")
    parser.add_argument("--no-eval", action="store_true", help="skip the float vs int8 comparison")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    import json

    from vwwdeploy.errors import UserError
    from vwwdeploy.progress import say
    from vwwdeploy.training.export import export_int8

    if args.eval_limit is not None and args.eval_limit < 1:
        raise UserError("--eval-limit must be at least 1")
    summary = export_int8(
        args.checkpoint,
        args.dataset,
        args.out,
        calibration_images=args.calibration_images,
        evaluate=not args.no_eval,
        eval_limit=args.eval_limit,
        log=say,
    )
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    tag = " [SYNTHETIC dataset]" if summary["synthetic"] else ""
    print(
        f"wrote {summary['out']} ({summary['bytes']:,} bytes), ops: "
        + ", ".join(f"{name} x{count}" for name, count in summary["ops"].items())
    )
    print(
        f"input int8 scale {summary['input']['scale']:.8f} zero point {summary['input']['zero_point']}; "
        f"output int8 scale {summary['output']['scale']:.8f} zero point {summary['output']['zero_point']}"
    )
    if summary["float_accuracy"] is not None:
        print(
            f"float accuracy {summary['float_accuracy']:.4f}, int8 accuracy {summary['int8_accuracy']:.4f}, "
            f"drop {summary['accuracy_drop']:+.4f} on {summary['eval_count']} val images{tag}"
        )
    return 0
