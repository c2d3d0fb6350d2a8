"""Is this board healthy? Runs the board's self-test (SELFTEST: camera sensor and data lines, frame timing,
exposure, core clock, memory, the model on a built-in input) and the host's checks (port, baud, the
application rather than a bootloader answering, firmware and protocol version, the model's sha256 against
--model, link round trip and errors), printed as one table with what to do for each failure.
Exit 0: all pass; 1: a check failed; 2: bad input; 3: no vwwdeploy board answers (no board, wrong port,
a bootloader instead of the application)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vwwdeploy.cli_args import add_board_port
from vwwdeploy.constants import REQUEST_TIMEOUT_S


def configure(parser: argparse.ArgumentParser) -> None:
    add_board_port(parser)
    parser.add_argument("--model", type=Path, default=None, help="the .tflite the board should run (sha256 compared)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout (stable fields)")
    parser.add_argument("--timeout", type=float, default=REQUEST_TIMEOUT_S, help="seconds per request attempt")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from vwwdeploy.apps import doctor
    from vwwdeploy.errors import DeviceError, UserError

    if args.baud <= 0:
        raise UserError(f"--baud must be a positive number of bits per second, got {args.baud}")
    if args.timeout <= 0:
        raise UserError(f"--timeout must be positive, got {args.timeout:g}")

    def step(text: str) -> None:  # a transient status line on a terminal; nothing in logs and pipes
        print(f"\r\033[Kdoctor: {text}...", end="", file=sys.stderr, flush=True)

    live = sys.stderr.isatty() and not args.json
    try:
        result = doctor.diagnose(args.port, args.model, baud=args.baud, timeout=args.timeout, on_step=live and step)
    except DeviceError as exc:
        if args.json:  # a CI job reads stdout: say it there too, in the same shape
            print(json.dumps(doctor.unreachable_json(args.port, str(exc)), indent=2))
        raise
    finally:
        if live:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        print(doctor.table(result))
    return 0 if result.ok else 1
