"""Run a simulated SparkFun Edge: the device side of the vwwdeploy protocol on a pty (default) or a
TCP port, the model on the TFLM host twin (reference kernels), a camera made from a folder of
pictures (or a procedural scene), optional line pacing and fault injection. The first line on stdout
is the port URL to give `--port` (e.g. `vwwdeploy validate --port /dev/pts/3`); serves until Ctrl-C.
With --mlperf it is instead an MLPerf Tiny device under test (text protocol, for `vwwdeploy mlperf`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (e.g. 127.0.0.1:5555), got {text!r}")
    return host or "127.0.0.1", int(port)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"a per-byte fault probability is in [0, 1), got {text}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="int8 .tflite the board runs")
    parser.add_argument(
        "--camera-dir", type=Path, help="folder of pictures the camera cycles through (default: a procedural scene)"
    )
    parser.add_argument(
        "--tcp",
        type=_host_port,
        metavar="HOST:PORT",
        help="serve on TCP (socket://HOST:PORT; port 0 = any free) instead of a pty",
    )
    parser.add_argument(
        "--baud", type=int, default=None, help="pace bytes at this line rate, 10 bits a byte (default: no pacing)"
    )
    parser.add_argument(
        "--line-rate",
        type=float,
        default=None,
        metavar="BYTES_PER_S",
        help="move bytes at this rate whatever the baud says, as an emulated UART does (default: from --baud)",
    )
    parser.add_argument(
        "--pipeline", choices=["decimate", "boxavg"], default="decimate", help="camera -> model input pipeline"
    )
    parser.add_argument(
        "--fault-rate",
        type=_rate,
        default=0.0,
        help="per-byte fault probability (split equally between byte drop, bit flip and byte insert), both directions",
    )
    parser.add_argument(
        "--reset-every",
        type=int,
        default=0,
        metavar="N",
        help="reset the board at every Nth received request (0 = never)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault injection")
    parser.add_argument(
        "--no-staging",
        action="store_true",
        help="play a firmware without staged transfer (STAGE/INFER_STAGED unknown, INFO capability bit 3 clear)",
    )
    mlperf = parser.add_argument_group("MLPerf Tiny DUT (--mlperf; --reset-every counts commands)")
    mlperf.add_argument("--mlperf", action="store_true", help="serve the MLPerf Tiny DUT protocol instead")
    mlperf.add_argument("--slow", type=float, default=0.0, metavar="S", help="add S seconds to every inference")
    mlperf.add_argument(
        "--drop-terminator-every", type=int, default=0, metavar="N", help="lose the %% of every Nth command"
    )
    mlperf.add_argument("--error-every", type=int, default=0, metavar="N", help="answer every Nth command e-[...]")
    parser.add_argument(
        "--camera-fault",
        action="append",
        default=[],
        metavar="FAULT",
        help="a camera fault the self-test finds (repeatable): no-sensor, stuck-bit:N (stuck low), stuck-high:N, "
        "swap-bits:A:B, no-vsync, short-lines, dark",
    )
    parser.add_argument(
        "--board-fault",
        action="append",
        default=[],
        metavar="FAULT",
        help="a board fault the self-test finds (repeatable): slow-clock, stack-overflow, model-mismatch",
    )
    parser.add_argument(
        "--deaf-capture",
        type=float,
        default=0.0,
        metavar="MS",
        help="each camera read lasts MS milliseconds and every byte received meanwhile is dropped, as on a board "
        "whose polled camera read runs with interrupts off (default 0: the UART hears during captures)",
    )


def run(args: argparse.Namespace) -> int:
    from vwwdeploy.errors import UserError
    from vwwdeploy.virtual_boards.sim import FaultConfig, SimBoard
    from vwwdeploy.virtual_boards.sim.hardware import HardwareFaults
    from vwwdeploy.virtual_boards.sim.transport import serve_until_stopped

    if args.baud is not None and args.baud <= 0:
        raise UserError(f"--baud must be a positive number of bits per second, got {args.baud}")
    if args.line_rate is not None and args.line_rate <= 0:
        raise UserError(f"--line-rate must be a positive number of bytes per second, got {args.line_rate}")
    if args.reset_every < 0:
        raise UserError(f"--reset-every must be 0 or more, got {args.reset_every}")
    if args.camera_dir is not None and not args.camera_dir.is_dir():
        raise UserError(f"camera folder {args.camera_dir} does not exist or is not a folder")
    if not args.model.is_file():
        raise UserError(f"model {args.model} does not exist")
    if args.mlperf:
        return _run_mlperf(args)
    if args.deaf_capture < 0:
        raise UserError(f"--deaf-capture must be 0 or more milliseconds, got {args.deaf_capture:g}")
    faults = FaultConfig.uniform(args.fault_rate, args.reset_every, args.seed)
    hardware = HardwareFaults.parse(args.camera_fault, args.board_fault)
    board = SimBoard(
        args.model,
        args.camera_dir,
        args.baud,
        faults,
        pipeline_mode=1 if args.pipeline == "boxavg" else 0,
        staging=not args.no_staging,
        line_bytes_per_s=args.line_rate,
        hardware=hardware,
        deaf_capture=args.deaf_capture / 1000,
    )
    pacing = f"{args.baud} baud" if args.baud else "no pacing"
    pacing = f"{args.line_rate:g} bytes/s" if args.line_rate else pacing
    noise = f", faults {args.fault_rate:g}/byte" if args.fault_rate else ""
    noise += f", reset every {args.reset_every} requests" if args.reset_every else ""
    noise += f", hardware faults: {hardware.describe()}" if hardware.any else ""
    noise += f", deaf for {args.deaf_capture:g} ms per capture" if args.deaf_capture else ""
    banner = (
        f"vwwdeploy sim: serving {args.model.name} (sha256 {board.model_sha256[:12]}...), camera: "
        f"{board.camera.description}, {pacing}{noise}; Ctrl-C stops"
    )

    def summary() -> str:
        c = board.counters
        return f"vwwdeploy sim: stopped after {c['requests']} requests, {c['inferences']} inferences"

    return serve_until_stopped(board, args.tcp, banner, summary)


def _run_mlperf(args: argparse.Namespace) -> int:
    from vwwdeploy.apps.mlperf.dut import DutFaults, serve_forever
    from vwwdeploy.errors import UserError

    if args.fault_rate or args.camera_dir is not None or args.no_staging or args.line_rate is not None:
        raise UserError(
            "--fault-rate, --camera-dir, --no-staging and --line-rate are for the binary protocol, not --mlperf "
            "(pace it with --baud)"
        )
    if args.slow < 0 or args.drop_terminator_every < 0 or args.error_every < 0:
        raise UserError("--slow, --drop-terminator-every and --error-every must be 0 or more")
    faults = DutFaults(args.slow, args.drop_terminator_every, args.error_every, args.reset_every)
    return serve_forever(args.model, args.tcp, args.baud, faults)
