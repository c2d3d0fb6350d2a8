"""Flash a built firmware (.bin, or an ELF converted in Python) onto the SparkFun Edge over USB serial.

ASB is the Ambiq secure bootloader every Edge ships with: hold button 14, tap RST, keep holding 14 until the
transfer starts. SVL is SparkFun's loader (needs to be installed first; apps at 0x10000). By default the protocol
follows the firmware's link address (0xC000 -> asb, 0x10000 -> svl). When the bootloader does not answer at one
baud the other of 921600/115200 is tried. Example: vwwdeploy flash .pio/vwwdeploy/sparkfun_edge/firmware.elf"""

from __future__ import annotations

import argparse

from vwwdeploy.constants import FLASH_REPLY_TIMEOUT_S


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("firmware", metavar="FIRMWARE", help="firmware .bin or .elf")
    parser.add_argument(
        "--port",
        default=argparse.SUPPRESS,
        help="serial port or pyserial URL (default: $VWWDEPLOY_PORT, else the only USB serial port)",
    )
    parser.add_argument(
        "--protocol",
        choices=["auto", "asb", "svl"],
        default="auto",
        help="bootloader to talk to (auto: from the firmware's link address)",
    )
    parser.add_argument(
        "--baud",
        default=argparse.SUPPRESS,
        help="baud to try first (default 921600; the other of 921600/115200 is tried next)",
    )
    parser.add_argument(
        "--wait", type=float, default=6.0, metavar="SECONDS", help="how long to wait for the bootloader at each baud"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=FLASH_REPLY_TIMEOUT_S,
        metavar="SECONDS",
        help="how long to wait for each reply during the transfer (flash writes take time)",
    )
    parser.add_argument("--attempts", type=int, default=3, help="transfers to try before giving up")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from vwwdeploy.errors import UserError
    from vwwdeploy.link.flashing import flash

    baud, text = None, getattr(args, "baud", None)  # absent unless given (keeps "(default: None)" out of --help)
    if text not in (None, ""):
        try:
            baud = int(text)
        except ValueError:
            raise UserError(f"--baud must be a number such as 921600 or 115200, not {text!r}") from None
    for flag in ("wait", "timeout"):
        if getattr(args, flag) <= 0:
            raise UserError(f"--{flag} must be more than 0 seconds")
    result = flash(
        args.firmware,
        port=getattr(args, "port", None) or None,
        protocol=args.protocol,
        baud=baud,
        wait=args.wait,
        timeout=args.timeout,
        attempts=args.attempts,
        progress=not args.no_progress,
    )
    print(
        f"flashed {result.name}: {result.size:,} bytes at 0x{result.load_address:X} over "
        f"{result.protocol.upper()} on {result.port} at {result.baud} baud in {result.seconds:.1f} s"
    )
    return 0
