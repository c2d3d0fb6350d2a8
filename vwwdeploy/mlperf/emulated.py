"""The MLPerf Tiny firmware under QEMU: waiting for it to boot (it answers `name%`, not the binary HELLO)."""

from __future__ import annotations

import socket
import time

from vwwdeploy.errors import DeviceError, UserError


def wait_for_name(emu, timeout: float) -> str:
    """Connect to the emulator's UART port and send `name%` until the firmware answers; returns the DUT name."""
    from vwwdeploy.mlperf import protocol as p
    from vwwdeploy.mlperf.link import MlperfLink

    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if not emu.alive():
            raise UserError(f"{emu.exit_reason()} (firmware {emu.firmware.name} did not boot)")
        try:
            with socket.create_connection(("127.0.0.1", emu.port), timeout=1.0):
                pass
        except OSError as exc:
            last_error = f"port not open ({exc.strerror or exc})"
            time.sleep(0.05)
            continue
        try:
            with MlperfLink(emu.url, timeout=2.0) as link:
                link.drain(quiet=0.2, limit=1.0)
                name = p.parse_name(link.command("name"))
                if name:
                    return name
                last_error = "no m-name-dut-[...] in the answer to name%"
        except (DeviceError, UserError) as exc:
            last_error = str(exc)
    if not emu.alive():
        raise UserError(f"{emu.exit_reason()} (firmware {emu.firmware.name} did not boot)")
    raise UserError(f"the MLPerf Tiny firmware under QEMU did not answer name% within {timeout:g} s ({last_error})")
