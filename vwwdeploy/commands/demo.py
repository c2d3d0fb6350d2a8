"""Live person detection in the browser: serve a local page that shows, as the board streams them, the
camera frame exactly as the model saw it, the person score (bar and timeline), the label, the board's
inference time, frames per second, and the board and model sha256 from HELLO. It survives board resets
and pulled cables (the page says "disconnected" and the demo reconnects). --record keeps every frame as
a PNG plus frames.csv with its scores."""

from __future__ import annotations

import argparse
from pathlib import Path

from vwwdeploy.cli_args import add_board_port


def configure(parser: argparse.ArgumentParser) -> None:
    add_board_port(parser)
    parser.add_argument(
        "--http",
        default="127.0.0.1:8096",
        metavar="HOST:PORT",
        help="where to serve the page (loopback by default; port 0 picks a free one)",
    )
    parser.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="DIR",
        help="save every frame as PNG with its scores in DIR/frames.csv",
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="also stream the raw 324x244 sensor frame (shown on the page, recorded with --record)",
    )
    parser.add_argument("--max-fps", type=int, default=0, help="ask the board to pace frames (0: as fast as it can)")


def run(args: argparse.Namespace) -> int:
    import sys

    from vwwdeploy.apps.demo.server import DemoServer, parse_http_address
    from vwwdeploy.progress import say

    http = parse_http_address(args.http)
    warn = lambda text: print(f"vwwdeploy demo: {text}", file=sys.stderr, flush=True)  # noqa: E731
    server = DemoServer(
        args.port, http, record=args.record, raw=args.raw, baud=args.baud, max_fps=args.max_fps, warn=warn
    )
    info = server.info
    print(server.url, flush=True)  # first stdout line: where to point the browser (scripts read it)
    say(
        f"{info.board} ({info.firmware_name} {info.firmware_version}) on {args.port}, "
        f"model sha256 {info.model_sha256[:16]}...; open {server.url} (Ctrl-C stops)"
    )
    if http[0] not in ("127.0.0.1", "::1", "localhost"):
        say(f"serving on {http[0]}: anyone who can reach this address can watch the camera")
    if args.record:
        say(f"recording frames to {args.record}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    say(f"{server.link.index} frame(s) shown")
    return 0
