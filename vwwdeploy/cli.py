"""`vwwdeploy <command>`: the one entry point.

Every command lives in `vwwdeploy/commands/<name>.py` with `configure(parser)` and `run(args)`.
Those modules import only the standard library at top level so that `--help` stays instant;
heavy imports (TensorFlow, TFLM) happen inside `run`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from vwwdeploy import __version__
from vwwdeploy.errors import UserError

# (command, module, one-line help) in pipeline order.
COMMANDS: list[tuple[str, str, str]] = [
    ("quickstart", "quickstart", "run the whole pipeline offline on a built-in synthetic dataset"),
    ("dataset", "dataset", "download COCO 2014 and build the Visual Wake Words dataset from it"),
    ("train", "train", "train MobileNetV1 on a VWW dataset (slim defaults; resumes; Ctrl-C saves)"),
    ("import", "import_model", "float Keras train dir from an int8 MobileNetV1 .tflite (checked layer by layer)"),
    ("evaluate", "evaluate", "accuracy of a checkpoint or a .tflite on a dataset split (eval/Accuracy[...])"),
    ("export", "export", "int8 .tflite from a checkpoint: calibrated, upstream op set, float vs int8 accuracy"),
    ("inspect", "inspect", "check a .tflite against TFLM and the SparkFun Edge; --fix repairs metadata"),
    ("codegen", "codegen", "generate the firmware's model_data/model_settings C++ sources from a .tflite"),
    (
        "firmware",
        "firmware",
        "SparkFun Edge firmware: fetch pinned upstream deps, build with PlatformIO, flash/RAM size",
    ),
    ("flash", "flash", "flash a built firmware onto the SparkFun Edge (Ambiq ASB or SparkFun SVL bootloader)"),
    ("sim", "sim", "run a simulated board on a pty or TCP port (the model on the TFLM host twin)"),
    ("emulate", "emulate", "run the real firmware under QEMU (Cortex-M4F, mps2-an386) with its UART on a TCP port"),
    ("validate", "validate", "compare board, TFLM twin, LiteRT and float model on the same labelled images"),
    ("doctor", "doctor", "is the board healthy? its self-test plus link checks, with what to do for each failure"),
    ("monitor", "monitor", "show a board's camera live: label, score, latency, fps; --save keeps the frames"),
    ("mlperf", "mlperf", "run the MLPerf Tiny benchmark (performance or accuracy) against any MLPerf Tiny board"),
    ("demo", "demo", "live camera + person score in the browser (local web page); survives resets, --record"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vwwdeploy",
        description="Visual Wake Words person detection, from COCO to the SparkFun Edge.",
    )
    parser.add_argument("--version", action="version", version=f"vwwdeploy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name, module_name, help_text in COMMANDS:
        module = importlib.import_module(f"vwwdeploy.commands.{module_name}")
        cmd = sub.add_parser(
            name,
            help=help_text,
            description=(module.__doc__ or help_text).strip(),
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        module.configure(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    # TensorFlow's C++ INFO/WARNING lines drown the progress output; errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"vwwdeploy {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"vwwdeploy {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error of ours; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
