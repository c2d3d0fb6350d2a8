"""Run the real Cortex-M4F firmware under QEMU (`qemu-system-arm -M mps2-an386`), its UART on a local TCP
port. The first line on stdout is the port URL to give `--port` (e.g. `vwwdeploy validate --port
socket://127.0.0.1:5555`); serves until Ctrl-C, then stops QEMU. Build the firmware first with
`vwwdeploy firmware build --board qemu [--kernels reference]`. With --icount, QEMU counts instructions
(1 virtual ns each) and every RESULT carries the instructions the inference executed."""

from __future__ import annotations

import argparse
from pathlib import Path


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port number 0..65535, got {text!r}")
    return int(text)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kernels",
        choices=["cmsis-nn", "reference", "generated"],
        default="cmsis-nn",
        help="which QEMU build to run (the last `firmware build --board qemu --kernels K`)",
    )
    parser.add_argument(
        "--icount",
        action="store_true",
        help="deterministic instruction counting (-icount shift=0): RESULT reports instructions",
    )
    parser.add_argument("--port", type=_port, default=0, help="local TCP port for the UART (0 = any free port)")
    parser.add_argument("--firmware", type=Path, default=None, help="firmware ELF to run instead of the last build")
    parser.add_argument(
        "--app",
        choices=["binary", "mlperf"],
        default="binary",
        help="mlperf: the last `firmware build --board qemu --app mlperf` (MLPerf Tiny DUT, for `vwwdeploy mlperf`)",
    )


def run(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading

    from vwwdeploy.virtual_boards.qemu import start_emulator

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    emu = start_emulator(kernels=args.kernels, icount=args.icount, port=args.port, firmware=args.firmware, app=args.app)
    try:
        print(emu.url, flush=True)
        info = emu.info
        if args.app == "mlperf":
            print(
                f"vwwdeploy emulate: MLPerf Tiny DUT {info!r}, instruction counting {'on' if args.icount else 'off'} "
                f"(QEMU pid {emu.pid}); Ctrl-C stops",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(
                f"vwwdeploy emulate: {info.board} firmware {info.firmware_version}, {info.kernels} kernels, "
                f"model sha256 {info.model_sha256[:12]}..., instruction counting "
                f"{'on' if args.icount else 'off'} (QEMU pid {emu.pid}); Ctrl-C stops",
                file=sys.stderr,
                flush=True,
            )
        while not done.wait(0.2):
            if not emu.alive():
                print(f"vwwdeploy emulate: error: {emu.exit_reason()}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    print("vwwdeploy emulate: stopped", file=sys.stderr)
    return 0
