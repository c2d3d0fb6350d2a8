"""The emulated Edge as a running board: the Machine in a background thread, UART0 on a local TCP port
(`socket://127.0.0.1:PORT`, one client at a time, like QEMU's chardev server), HELLO answered before return.

The emulation never runs ahead of wall time (the firmware's STIMER timeouts then mean what they say on a board);
it runs slower than real time during inference, which the firmware's timeouts tolerate."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import UserError
from .core import ASB_APP, Machine, load_image
from .peripheral import UnmodelledAccess
from .peripherals import attach_all

HOST = "127.0.0.1"
BOOT_TIMEOUT_S = 60.0
UART0 = 0x4001C000


def default_firmware(env: str = "sparkfun_edge") -> Path:
    from ...firmware.project import project_root

    return project_root() / ".pio" / "vwwdeploy" / env / "firmware.elf"


@dataclass(eq=False)
class EdgeEmulator:
    machine: Machine
    firmware: Path
    port: int
    info: object = None
    error: str | None = None
    boot_wall_s: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _client: socket.socket | None = field(default=None, repr=False)
    _server: socket.socket | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"socket://{HOST}:{self.port}"

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def exit_reason(self) -> str:
        return self.error or "the emulated Edge stopped"

    def touched_registers(self) -> list[str]:
        """SVD names of every peripheral register the firmware read or wrote so far."""
        from . import svd

        names = set()
        for p in self.machine.peripherals.values():
            for off in getattr(p, "touched", ()):
                names.add(svd.name_of(p.base + off))
        return sorted(names)

    @property
    def emulated_s(self) -> float:
        return self.machine.time_s()

    def stop(self) -> None:
        self._stop.set()
        for s in (self._client, self._server):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> EdgeEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # UART <-> TCP ---------------------------------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        c = self._client
        if c is not None:
            try:
                c.sendall(data)
            except OSError:
                self._client = None

    def _on_connect(self) -> None:
        """A client opened the port (svl_board.py resets the board here, as the adapter's DTR line does)."""

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._on_connect()
            self._client = client
            while not self._stop.is_set():
                try:
                    data = client.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                # looked up per chunk: a reboot (svl_board.py) replaces the machine
                self.machine.peripherals[UART0].host_rx.extend(data)
                self.machine.next_event = 0  # deliver soon
            self._client = None
            client.close()

    def _run(self) -> None:
        m = self.machine
        start = time.monotonic()

        def pace() -> None:
            ahead = m.time_s() - (time.monotonic() - start)
            if ahead > 0.002:
                time.sleep(min(ahead, 0.05))

        m.on_tick = pace
        try:
            m.run(should_stop=self._stop.is_set)
        except UnmodelledAccess as e:
            pc = getattr(e, "pc", 0) or 0
            self.error = f"unmodelled register {e} at PC 0x{pc:08X} {m.image.symbol(pc)}"
        except Exception as e:  # noqa: BLE001 - the reason is what the caller reports
            self.error = f"firmware stopped: {e}"


def listen(port: int) -> socket.socket:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind((HOST, port))
    except OSError as e:
        server.close()
        raise UserError(f"cannot serve the emulated UART on port {port}: {e.strerror or e}") from None
    server.listen(1)
    return server


def start_edge(
    firmware: str | Path | None = None, env: str = "sparkfun_edge", port: int = 0, boot_timeout: float = BOOT_TIMEOUT_S
) -> EdgeEmulator:
    """Boot an Edge image and return once it answers HELLO on `.url` (UserError with one line otherwise)."""
    path = Path(firmware) if firmware is not None else default_firmware(env)
    if not path.is_file():
        raise UserError(f"Edge firmware {path} does not exist: build it with `vwwdeploy firmware build --env {env}`")
    image = load_image(path, expect=ASB_APP)
    machine = Machine(image)
    attach_all(machine)
    server = listen(port)
    emu = EdgeEmulator(machine, path.resolve(), server.getsockname()[1], _server=server)
    machine.peripherals[UART0].tx_sink = emu._send
    machine.reset()
    t0 = time.monotonic()
    emu._thread = threading.Thread(target=emu._run, name="edge-cpu", daemon=True)
    emu._thread.start()
    threading.Thread(target=emu._serve, name="edge-uart", daemon=True).start()
    try:
        emu.info = _wait_for_hello(emu, boot_timeout)
    except BaseException:
        emu.stop()
        raise
    emu.boot_wall_s = time.monotonic() - t0
    return emu


def _wait_for_hello(emu: EdgeEmulator, timeout: float):
    from vwwdeploy.link.client import Device
    from vwwdeploy.virtual_boards.qemu import wait_for_boot

    def hello():
        with Device(emu.url, timeout=2.0, retries=1) as dev:
            return dev.hello()

    return wait_for_boot(emu, timeout, hello, "the emulated Edge did not answer HELLO")
