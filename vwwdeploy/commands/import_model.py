"""Rebuild a float Keras MobileNetV1 from an int8 .tflite (the upstream person detector, a `vwwdeploy export`,
or a model with a FULLY_CONNECTED head such as MLPerf Tiny's) and write a train dir that `train --init-from`,
`evaluate` and `export` accept. Every weight is dequantized and batch norm stays folded into the biases.
The import checks itself: each layer of the float model, fed the int8 model's own input of that layer on
calibration pictures, must agree with the int8 layer within one output quantization step (--tolerance-steps);
the largest difference is printed, and nothing is written when they disagree. --grayscale turns an RGB model
into a 1-channel one by summing the first convolution over its input channels (same outputs on gray input)."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, metavar="MODEL.tflite", help="int8 MobileNetV1 .tflite")
    parser.add_argument("--out", type=Path, required=True, help="new train dir to write (must be new or empty)")
    parser.add_argument("--grayscale", action="store_true", help="RGB model -> 1-channel model for the gray camera")
    parser.add_argument(
        "--labels", default=None, help="comma-separated class names in output order (default: notperson,person)"
    )
    parser.add_argument(
        "--tolerance-steps", type=float, default=1.0, help="largest per-layer difference accepted, in output steps"
    )
    parser.add_argument("--json", action="store_true", help="print the import report as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    import json

    from vwwdeploy.progress import say
    from vwwdeploy.training.import_tflite import import_tflite

    labels = [name.strip() for name in args.labels.split(",")] if args.labels else None
    report = import_tflite(
        args.model,
        args.out,
        grayscale=args.grayscale,
        label_names=labels,
        tolerance_steps=args.tolerance_steps,
        log=say,
    )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"wrote {report['out']}: {report['config']}")
    return 0
