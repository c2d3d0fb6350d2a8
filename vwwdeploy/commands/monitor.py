"""Show a board's camera live: stream CAPTURE results (label, score, latency, fps) to the terminal, as a
live table on a TTY or one plain line per frame otherwise; --save keeps every frame as a PNG named after
its scores, with a frames.csv."""

from __future__ import annotations

import argparse
from pathlib import Path

from vwwdeploy.cli_args import add_board_port


def configure(parser: argparse.ArgumentParser) -> None:
    add_board_port(parser)
    parser.add_argument("--count", type=int, default=0, help="stop after N frames (0: until Ctrl-C)")
    parser.add_argument("--save", type=Path, default=None, metavar="DIR", help="keep frames as PNG plus frames.csv")
    parser.add_argument("--raw", action="store_true", help="also fetch (and save) the raw 324x244 sensor frame")
    parser.add_argument("--max-fps", type=int, default=0, help="ask the board to pace frames (0: as fast as it can)")


def run(args: argparse.Namespace) -> int:
    from vwwdeploy.apps.monitor import monitor
    from vwwdeploy.progress import say

    shown = monitor(args.port, count=args.count, save=args.save, raw=args.raw, baud=args.baud, max_fps=args.max_fps)
    say(f"{shown} frame(s){f' saved in {args.save}' if args.save else ''}")
    return 0
