"""Open a pyserial URL (/dev/tty*, socket://host:port, loop://, a pty path) or fail with one line."""

from __future__ import annotations

import errno

from vwwdeploy.errors import DeviceError

POLL_S = 0.02  # read timeout of one poll; deadlines are checked between polls


def open_port(url: str, baud: int):
    import serial

    kwargs = {"baudrate": baud, "timeout": POLL_S, "write_timeout": 30}
    is_tty = not url.split("://", 1)[0].isalpha() or "://" not in url
    try:
        if is_tty:
            # Two programs on one UART corrupt each other's frames: lock it like esptool does.
            kwargs["exclusive"] = True
        port = serial.serial_for_url(url, **kwargs)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise DeviceError(_why(url, exc)) from None
    try:
        port.reset_input_buffer()
    except Exception:
        pass
    return port


def _why(url: str, exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    code = getattr(exc, "errno", None)
    low = text.lower()
    if code == errno.ENOENT or "no such file" in low:
        return f"no serial port {url}: it does not exist (board unplugged? see `ls /dev/ttyUSB* /dev/ttyACM*`)"
    if code in (errno.EBUSY, errno.EAGAIN) or "busy" in low or "exclusively lock" in low:
        return f"serial port {url} is busy: another program (a monitor? another vwwdeploy?) holds it"
    if code == errno.EACCES or "permission denied" in low:
        return f"no permission to open {url}: add yourself to the dialout group (or uucp), then log in again"
    if "connection refused" in low or code == errno.ECONNREFUSED:
        return f"nothing listens at {url} (is `vwwdeploy sim --tcp` or the emulator running?)"
    if "unsupported" in low or "invalid url" in low or "expected" in low:
        return f"cannot open {url}: {text}"
    return f"cannot open {url}: {text}"
