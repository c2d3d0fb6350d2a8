"""Command-line options several commands share, declared once so they read the same everywhere."""

from __future__ import annotations

import argparse

from vwwdeploy.constants import DEFAULT_BAUD


def add_board_port(parser: argparse.ArgumentParser) -> None:
    """--port URL (required) and --baud for a command that talks to one board."""
    parser.add_argument(
        "--port",
        required=True,
        metavar="URL",
        help="board port: /dev/ttyUSB0, socket://HOST:PORT or the pty `vwwdeploy sim` prints",
    )
    parser.add_argument("--baud", type=int, default=DEFAULT_BAUD, help="serial line rate")
