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
        "--board",
        choices=["qemu", "edge"],
        default="qemu",
        help="qemu: the portable core on mps2-an386; edge: the exact SparkFun Edge image on the emulated Apollo3 "
        "(the same words as `firmware build --board`)",
    )
    parser.add_argument(
        "--env",
        default="sparkfun_edge",
        help="--board edge: which Edge build to run (the last `firmware build --env ENV`)",
    )
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
    parser.add_argument(
        "--bootloader",
        choices=["asb", "svl"],
        default="asb",
        help="--board edge: asb = start the image at 0xC000 as Ambiq's secure bootloader (boot ROM, not emulated) "
        "does; svl = run SparkFun's SVL bootloader there (`firmware build --bootloader svl`), which starts what is "
        "flashed at 0x10000 and takes `vwwdeploy flash --protocol svl --port URL`",
    )
    parser.add_argument(
        "--flash-file",
        type=Path,
        metavar="FILE",
        help="--bootloader svl: keep the emulated 1 MB flash in FILE (read at start if it exists, written after "
        "each flashing and at the end), so a flashed application survives a restart",
    )
    parser.add_argument(
        "--line-baud",
        type=int,
        choices=[57600, 115200, 230400, 460800, 921600],
        default=921600,
        help="--bootloader svl: the rate the host's bytes arrive on the RX pin at, which the SVL's auto-baud "
        "measures (a socket carries no baud rate)",
    )
    parser.add_argument("--port", type=_port, default=0, help="local TCP port for the UART (0 = any free port)")
    parser.add_argument("--firmware", type=Path, default=None, help="firmware ELF to run instead of the last build")
    parser.add_argument(
        "--app",
        choices=["binary", "mlperf"],
        default="binary",
        help="mlperf: the last `firmware build --board qemu --app mlperf` (MLPerf Tiny DUT, for `vwwdeploy mlperf`)",
    )


def _serve(emu, banner) -> int:
    """Print the URL, then the banner, and serve until Ctrl-C, SIGTERM or the emulator's own end."""
    import signal
    import sys
    import threading

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        print(emu.url, flush=True)
        print(f"vwwdeploy emulate: {banner(emu.info)}; Ctrl-C stops", file=sys.stderr, flush=True)
        while not done.wait(0.2):
            if not emu.alive():
                print(f"vwwdeploy emulate: error: {emu.exit_reason()}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


def _edge_banner(emu, info) -> str:
    if info is None:
        return (
            "emulated SparkFun Edge, SVL bootloader at 0xC000 and no application in flash: flash one with "
            f"`vwwdeploy flash --protocol svl --timeout 60 --port {emu.url} FIRMWARE.elf` (env sparkfun_edge_svl)"
        )
    via = " via the SVL" if getattr(emu, "svl", None) is not None else ""
    return (
        f"emulated SparkFun Edge, {info.board} firmware {info.firmware_version}, model sha256 "
        f"{info.model_sha256[:12]}..., booted{via} in {emu.boot_wall_s:.1f} s wall"
    )


def _run_edge(args: argparse.Namespace) -> int:
    import sys

    from vwwdeploy.errors import UserError

    if args.bootloader == "svl":
        from vwwdeploy.virtual_boards.edge.svl_board import start_svl_edge

        emu = start_svl_edge(app=args.firmware, flash_file=args.flash_file, port=args.port, line_baud=args.line_baud)
    else:
        if args.flash_file is not None:
            raise UserError("--flash-file needs --bootloader svl (only the SVL writes the emulated flash)")
        from vwwdeploy.virtual_boards.edge.board import start_edge

        emu = start_edge(firmware=args.firmware, env=args.env, port=args.port)
    code = _serve(emu, lambda info: _edge_banner(emu, info))
    if code == 0:
        print(f"vwwdeploy emulate: stopped after {emu.emulated_s:.2f} s of emulated time", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    if args.board == "edge":
        return _run_edge(args)
    import sys

    from vwwdeploy.virtual_boards.qemu import start_emulator

    emu = start_emulator(kernels=args.kernels, icount=args.icount, port=args.port, firmware=args.firmware, app=args.app)
    counting = "on" if args.icount else "off"

    def banner(info) -> str:
        if args.app == "mlperf":
            return f"MLPerf Tiny DUT {info!r}, instruction counting {counting} (QEMU pid {emu.pid})"
        return (
            f"{info.board} firmware {info.firmware_version}, {info.kernels} kernels, model sha256 "
            f"{info.model_sha256[:12]}..., instruction counting {counting} (QEMU pid {emu.pid})"
        )

    code = _serve(emu, banner)
    if code == 0:
        print("vwwdeploy emulate: stopped", file=sys.stderr)
    return code
