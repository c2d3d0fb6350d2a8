"""The emulated board: the real Cortex-M4F firmware under `qemu-system-arm -M mps2-an386`.

`start_emulator(...)` boots a firmware ELF (by default the last `vwwdeploy firmware build --board qemu`
of the chosen kernels) with UART0 on a local TCP port, waits until the firmware answers HELLO there,
and returns an `Emulator` whose `.url` (`socket://127.0.0.1:PORT`) any host tool takes as `--port`.
With `icount=True` QEMU runs `-icount shift=0`: virtual time advances exactly 1 ns per instruction,
the firmware learns it from its semihosting command line and reports instructions per inference.

The QEMU process never outlives its owner: `.stop()` / the context manager / interpreter exit kill it,
and when started from the main thread it also gets SIGKILL from the kernel if the owner dies.
"""

from __future__ import annotations

import atexit
import ctypes
import errno
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from vwwdeploy.errors import DeviceError, UserError

QEMU = "qemu-system-arm"
MACHINE = "mps2-an386"
HOST = "127.0.0.1"
BOOT_TIMEOUT_S = 60.0  # a loaded shared machine; the firmware itself answers within milliseconds

_running: set["Emulator"] = set()
_running_lock = threading.Lock()


@dataclass(eq=False)
class Emulator:
    process: subprocess.Popen
    port: int
    firmware: Path
    kernels: str | None
    icount: bool
    log_path: Path
    info: object = None  # DeviceInfo from the boot HELLO
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"socket://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def exit_reason(self) -> str:
        """One line on why QEMU is gone (its exit code and last stderr line)."""
        code = self.process.poll()
        return _describe_exit(code, self.log_path)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        with _running_lock:
            _running.discard(self)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            self.log_path.unlink()
        except OSError:
            pass

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _stop_all() -> None:
    with _running_lock:
        emulators = list(_running)
    for emu in emulators:
        emu.stop()


atexit.register(_stop_all)


def _describe_exit(code: int | None, log_path: Path) -> str:
    try:
        lines = [l.strip() for l in log_path.read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        lines = []
    last = lines[-1] if lines else ""
    if code is None:
        status = "is still running"
    elif code < 0:
        status = f"was killed by signal {-code}"
    else:
        status = f"exited with status {code}"
    return f"QEMU {status}" + (f": {last}" if last else "")


def _check_port(port: int) -> int:
    """A free local TCP port: `port` itself (UserError when taken) or, for 0, one the kernel picks."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(
                    f"TCP port {port} on {HOST} is busy: choose another --port (or 0 for any free one)"
                ) from None
            raise UserError(f"cannot use TCP port {port} on {HOST}: {exc.strerror}") from None
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the thread that started it dies (Linux prctl)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def qemu_command(firmware: Path, port: int, icount: bool) -> list[str]:
    # The semihosting command line tells the firmware whether instruction counting is on.
    args = "arg=vwwdeploy" + (",arg=icount" if icount else "")
    cmd = [
        QEMU,
        "-M",
        MACHINE,
        "-nographic",
        "-monitor",
        "none",
        "-semihosting-config",
        f"enable=on,target=native,{args}",
        "-serial",
        f"tcp:{HOST}:{port},server=on,wait=off,nodelay=on",
        "-kernel",
        str(firmware),
    ]
    if icount:
        cmd[1:1] = ["-icount", "shift=0,align=off,sleep=off"]
    return cmd


def start_emulator(
    kernels: str = "cmsis-nn",
    icount: bool = False,
    port: int = 0,
    firmware: str | Path | None = None,
    boot_timeout: float = BOOT_TIMEOUT_S,
    app: str = "binary",
) -> Emulator:
    """Boot the firmware under QEMU and return once it answers HELLO on `Emulator.url`.

    kernels picks the last QEMU build of that flavour when `firmware` (an ELF path) is not given.
    port 0 = any free port. Raises UserError with one line: QEMU missing, firmware not built,
    port busy, QEMU exiting or the firmware not answering during boot (QEMU is killed then).
    """
    qemu = shutil.which(QEMU)
    if qemu is None:
        raise UserError(f"{QEMU} not found: install QEMU (Debian: apt install qemu-system-arm)")
    if firmware is None:
        from vwwdeploy.firmware.qemu_build import latest_build

        firmware = latest_build(kernels, app)
    firmware = Path(firmware)
    if not firmware.is_file():
        raise UserError(f"firmware {firmware} does not exist: build it with `vwwdeploy firmware build --board qemu`")
    with firmware.open("rb") as fh:
        if fh.read(4) != b"\x7fELF":
            raise UserError(f"firmware {firmware} is not an ELF file")
    chosen = _check_port(port)
    fd, log_name = tempfile.mkstemp(prefix="vwwdeploy-qemu-", suffix=".log")
    log_path = Path(log_name)
    main_thread = threading.current_thread() is threading.main_thread()
    with os.fdopen(fd, "wb") as log:
        process = subprocess.Popen(
            qemu_command(firmware, chosen, icount),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if main_thread else None,
        )
    emu = Emulator(process, chosen, firmware.resolve(), kernels, icount, log_path)
    with _running_lock:
        _running.add(emu)
    try:
        if app == "mlperf":  # the MLPerf Tiny build answers `name%`, not HELLO (docs/mlperf.md)
            emu.info = wait_for_name(emu, boot_timeout)
        else:
            emu.info = _wait_for_hello(emu, boot_timeout)
    except BaseException:
        emu.stop()
        raise
    return emu


def wait_for_name(emu, timeout: float) -> str:
    """The MLPerf Tiny build answers `name%`, not the binary HELLO: send `name%` on the emulator's UART port until
    the firmware answers; returns the DUT name."""
    from vwwdeploy.link import mlperf_protocol as p
    from vwwdeploy.link.mlperf_dut import MlperfLink

    def ask() -> str:
        with MlperfLink(emu.url, timeout=2.0) as link:
            link.drain(quiet=0.2, limit=1.0)
            name = p.parse_name(link.command("name"))
        if not name:
            raise DeviceError("no m-name-dut-[...] in the answer to name%")
        return name

    return wait_for_boot(emu, timeout, ask, "the MLPerf Tiny firmware under QEMU did not answer name%")


def _wait_for_hello(emu: Emulator, timeout: float):
    """HELLO until the firmware answers: its INFO."""
    from vwwdeploy.link.client import Device

    def hello():
        with Device(emu.url, timeout=2.0, retries=1) as dev:
            return dev.hello()

    return wait_for_boot(emu, timeout, hello, "the firmware under QEMU did not answer HELLO")


def wait_for_boot(emu: Emulator, timeout: float, ask, failure: str):
    """Connect to the UART port and `ask()` until the firmware answers, QEMU exits or time runs out.

    `ask()` returns the answer, or raises DeviceError/UserError saying why there was none (tried again).
    """
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if not emu.alive():
            raise UserError(f"{emu.exit_reason()} (firmware {emu.firmware.name} did not boot)")
        try:
            with socket.create_connection((HOST, emu.port), timeout=1.0):
                pass
        except OSError as exc:
            last_error = f"port not open ({exc.strerror or exc})"
            time.sleep(0.05)
            continue
        try:
            return ask()
        except (DeviceError, UserError) as exc:
            last_error = str(exc)
    if not emu.alive():
        raise UserError(f"{emu.exit_reason()} (firmware {emu.firmware.name} did not boot)")
    raise UserError(f"{failure} within {timeout:g} s ({last_error})")
