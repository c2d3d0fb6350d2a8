"""Open a serial port by pyserial URL (/dev/tty*, socket://host:port, loop://, a pty path), find the one
USB port present, and explain every way that fails in one line (PortError: exit 3, the board's side)."""

from __future__ import annotations

import errno
import os

from serial.tools import list_ports

from vwwdeploy.constants import POLL_S, WRITE_TIMEOUT_S
from vwwdeploy.errors import DeviceError, UserError

# USB-serial bridges seen on Edge setups: WCH CH340, FTDI, Silicon Labs CP210x.
KNOWN_BRIDGES = {0x1A86: "CH340", 0x0403: "FTDI", 0x10C4: "CP210x"}


class PortError(DeviceError):
    """The port could not be opened: absent, busy, not ours to open, nobody listening."""


def available() -> list[str]:
    return sorted(p.device for p in list_ports.comports())


def find_port() -> str:
    """$VWWDEPLOY_PORT, else the one USB serial port present; UserError when there is none or there are several."""
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


def open_port(url: str, baud: int, timeout: float = POLL_S, write_timeout: float = WRITE_TIMEOUT_S):
    """An open pyserial port with its input buffer emptied; PortError with one line when it cannot be opened."""
    import serial

    kwargs = {"baudrate": baud, "timeout": timeout, "write_timeout": write_timeout}
    if "://" not in url:
        # Two programs on one UART corrupt each other's frames: lock it as esptool does.
        kwargs["exclusive"] = True
    try:
        port = serial.serial_for_url(url, **kwargs)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise PortError(describe_open_error(url, exc)) from None
    try:
        port.reset_input_buffer()
    except Exception:  # some URL handlers (loop://) have nothing to reset
        pass
    return port


def describe_open_error(url: str, exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    code = getattr(exc, "errno", None)
    low = text.lower()
    if code in (errno.EAGAIN, errno.EBUSY) or "exclusively lock" in low or "busy" in low:
        return (
            f"serial port {url} is busy: close the program holding it (a terminal, screen, a serial monitor, "
            "vwwdeploy monitor) and try again"
        )
    if code == errno.EACCES or "permission denied" in low:
        return (
            f"no permission to open {url}: add yourself to the dialout group "
            "(sudo usermod -aG dialout $USER) and log in again"
        )
    if code == errno.ECONNREFUSED or "connection refused" in low:
        return f"nothing listens at {url} (is `vwwdeploy sim --tcp` or the emulator running?)"
    if code in (errno.ENOENT, errno.ENXIO, errno.ENODEV) or "no such file" in low or "could not open" in low:
        others = available()
        hint = f"ports present: {', '.join(others)}" if others else "no serial ports are present"
        return f"serial port {url} does not exist ({hint}): is the board plugged in?"
    return f"cannot open serial port {url}: {text}"
