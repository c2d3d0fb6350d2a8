"""Open the serial port (a device path or any pyserial URL), with one clear line for each way that fails."""

from __future__ import annotations

import errno
import os

import serial
from serial.tools import list_ports

from vwwdeploy.errors import UserError

# USB-serial bridges seen on Edge setups: WCH CH340, FTDI, Silicon Labs CP210x.
KNOWN_BRIDGES = {0x1A86: "CH340", 0x0403: "FTDI", 0x10C4: "CP210x"}


def available() -> list[str]:
    return sorted(p.device for p in list_ports.comports())


def find_port() -> str:
    """The one USB serial port present; UserError when there is none or there are several."""
    env = os.environ.get("VWWDEPLOY_PORT")
    if env:
        return env
    usb = [p for p in list_ports.comports() if p.vid is not None]
    if len(usb) == 1:
        return usb[0].device
    if not usb:
        raise UserError("no USB serial port found: connect the Edge's USB-serial adapter or pass --port")
    names = ", ".join(f"{p.device} ({KNOWN_BRIDGES.get(p.vid, p.description)})" for p in usb)
    raise UserError(f"several serial ports ({names}): pass --port")


def open_port(name: str, baud: int, timeout: float) -> serial.SerialBase:
    try:
        return serial.serial_for_url(
            name, baudrate=baud, timeout=timeout, write_timeout=max(timeout, 5.0), exclusive=True
        )
    except serial.SerialException as exc:
        raise UserError(describe_open_error(name, exc)) from None
    except ValueError as exc:  # pyserial: unsupported baud / bad URL
        raise UserError(f"cannot open {name}: {exc}") from None


def describe_open_error(name: str, exc: Exception) -> str:
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code in (errno.EAGAIN, errno.EBUSY) or "exclusively lock" in text or "busy" in text.lower():
        return (
            f"serial port {name} is busy: close the program holding it (a terminal, screen, a serial monitor, "
            "vwwdeploy monitor) and try again"
        )
    if code == errno.EACCES or "Permission denied" in text:
        return (
            f"no permission to open {name}: add yourself to the dialout group "
            "(sudo usermod -aG dialout $USER) and log in again"
        )
    if code in (errno.ENOENT, errno.ENXIO, errno.ENODEV) or "No such file" in text or "could not open" in text:
        others = available()
        hint = f"ports present: {', '.join(others)}" if others else "no serial ports are present"
        return f"serial port {name} does not exist ({hint}): is the board plugged in?"
    return f"cannot open serial port {name}: {text.splitlines()[0] if text else type(exc).__name__}"
