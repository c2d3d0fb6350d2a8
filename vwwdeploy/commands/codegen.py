"""Generate the firmware's model sources from a .tflite: model_data.h/.cc (the flatbuffer as a
16-byte-aligned const array, its length and sha256) and model_settings.h (input geometry and
quantization, labels, measured arena + margin, op count and the VWWDEPLOY_ADD_OPS resolver macro).
The model is inspected first and refused if it cannot run on the board. Output is deterministic."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the int8 .tflite model")
    parser.add_argument("--out", type=Path, required=True, help="folder for the generated sources")
    parser.add_argument("--labels", default=None, help="comma-separated class names (2 classes: notperson,person)")
    parser.add_argument(
        "--arena-margin",
        default=None,
        metavar="M",
        help="added to the measured arena: a percentage (10%%) or bytes; default 10%% but at least 4096 B",
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="embed any file as model_data.h/.cc without model checks or settings header",
    )


def run(args: argparse.Namespace) -> int:
    from vwwdeploy.errors import UserError
    from vwwdeploy.model.codegen import generate_raw_sources, generate_sources
    from vwwdeploy.progress import say

    if args.raw:
        if args.labels or args.arena_margin:
            raise UserError("--raw embeds bytes only; --labels and --arena-margin do not apply")
        paths = generate_raw_sources(args.model, args.out)
    else:
        labels = None if args.labels is None else args.labels.split(",")
        paths = generate_sources(args.model, args.out, labels=labels, arena_margin=args.arena_margin)
    say("wrote " + ", ".join(str(p) for p in paths))
    return 0
