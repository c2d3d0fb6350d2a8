"""The MLPerf Tiny firmware under QEMU: waiting for it to boot (it answers `name%`, not the binary HELLO)."""

from __future__ import annotations

from vwwdeploy.errors import DeviceError


def wait_for_name(emu, timeout: float) -> str:
    """Connect to the emulator's UART port and send `name%` until the firmware answers; returns the DUT name."""
    from vwwdeploy.emulate import wait_for_boot
    from vwwdeploy.mlperf import protocol as p
    from vwwdeploy.mlperf.link import MlperfLink

    def ask() -> str:
        with MlperfLink(emu.url, timeout=2.0) as link:
            link.drain(quiet=0.2, limit=1.0)
            name = p.parse_name(link.command("name"))
        if not name:
            raise DeviceError("no m-name-dut-[...] in the answer to name%")
        return name

    return wait_for_boot(emu, timeout, ask, "the MLPerf Tiny firmware under QEMU did not answer name%")
