"""Inspect a .tflite model for the SparkFun Edge: ops, tensors, quantization, parameters, MACs, the
TFLM tensor arena it really needs (measured with the tflite-micro runtime), whether it fits the
board's flash and RAM after the firmware's own budget, whether TFLM and LiteRT load it, and every
problem found with a fix hint. Exit status is non-zero when the model cannot run on the board.
`--fix IN OUT` repairs known metadata defects (wrong quantized_dimension) and proves, by running the
original and repaired models on the same inputs, that the outputs are identical."""

from __future__ import annotations

import argparse
import re


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", help="the .tflite model to inspect")
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    parser.add_argument(
        "--fix", nargs=2, metavar=("IN", "OUT"), help="repair IN's metadata defects into OUT (proved output-identical)"
    )
    parser.add_argument(
        "--firmware-budget-flash",
        default="150K",
        metavar="BYTES",
        help="flash the firmware itself takes (TFLM, kernels, HAL, app); K suffix = 1024",
    )
    parser.add_argument(
        "--firmware-budget-ram",
        default="112K",
        metavar="BYTES",
        help="RAM the firmware itself takes (camera frame 79,056 B, stack, buffers); K suffix = 1024",
    )
    parser.add_argument(
        "--arena-margin",
        default=None,
        metavar="M",
        help="added to the measured arena: a percentage (10%%) or bytes; default 10%% but at least 4096 B",
    )


def parse_bytes(flag: str, text: str) -> int:
    from vwwdeploy.errors import UserError

    m = re.fullmatch(r"\s*(\d+)\s*([kK](?:i?B)?)?\s*", str(text))
    if not m:
        raise UserError(f"{flag} must be a byte count like 153600 or 150K, got {text!r}")
    return int(m.group(1)) * (1024 if m.group(2) else 1)


def run(args: argparse.Namespace) -> int:
    import json

    from vwwdeploy.errors import UserError
    from vwwdeploy.progress import say

    if args.fix:
        if args.model:
            raise UserError("give either MODEL or --fix IN OUT, not both")
        from vwwdeploy.model.fix import fix_model

        result = fix_model(*args.fix)
        say(
            f"repaired quantized_dimension on {len(result.fixed_tensors)} tensor(s); outputs identical to the "
            f"original's on {result.proof_inputs} inputs (TFLM and LiteRT); wrote {result.output}"
        )
        return 0
    if not args.model:
        raise UserError("give a MODEL.tflite to inspect (or --fix IN OUT)")

    from vwwdeploy.model.inspect import format_report, inspect_model

    report = inspect_model(
        args.model,
        firmware_budget_flash=parse_bytes("--firmware-budget-flash", args.firmware_budget_flash),
        firmware_budget_ram=parse_bytes("--firmware-budget-ram", args.firmware_budget_ram),
        arena_margin=args.arena_margin,
    )
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    if errors:
        more = f" (+{len(errors) - 1} more, see report)" if len(errors) > 1 else ""
        raise UserError(f"{args.model}: {errors[0]['message']}; fix: {errors[0]['hint']}{more}")
    return 0
