"""Which bootloader answers on a port now: what `doctor` asks when the application does not answer.

The flasher's own handshakes (the ASB's HELLO, the SVL's auto-baud and VER), each tried once per baud with the
flasher's per-try timeouts, and without resetting the board: a health check must leave it as it found it.
"""

from __future__ import annotations

import serial

from vwwdeploy.errors import DeviceError
from vwwdeploy.link.flashing import asb_protocol, svl_protocol
from vwwdeploy.link.flashing.errors import Garbled, NoAnswer
from vwwdeploy.link.port import open_port


def answering_bootloader(url: str, bauds: tuple[int, ...]) -> str | None:
    """ "asb", "svl", or None when neither answers (or the port cannot be opened)."""
    for rate in dict.fromkeys(bauds):
        try:
            port = open_port(url, rate)
        except DeviceError:
            return None
        try:
            try:
                asb_protocol.AsbSession(port).hello(timeout=asb_protocol.HELLO_INTERVAL_S)
                return "asb"
            except (NoAnswer, Garbled):
                pass
            try:
                svl_protocol.handshake(port, timeout=svl_protocol.LISTEN_S)
                return "svl"
            except (NoAnswer, Garbled):
                pass
        except (serial.SerialException, OSError):
            return None
        finally:
            port.close()
    return None
