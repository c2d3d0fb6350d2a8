"""The emulated Edge with SparkFun's SVL bootloader: the SVL build (`firmware build --bootloader svl`) at 0xC000,
entered as the Ambiq secure bootloader (boot ROM, not emulated) enters an application there, over a 1 MB flash
that is erased (0xFF) except for what the SVL wrote, what `--firmware` preloads at 0x10000, or what a flash file
kept from an earlier run.

What a board does around it, modelled here:
- Opening the port resets the board while the SVL or no application is running: the USB-serial adapter's DTR line
  pulses RST when a terminal opens it, and `vwwdeploy flash --protocol svl` relies on that (or on a tap of RST) to
  meet the SVL's 200 ms listening window. Once the SVL has started an application, opening the port no longer
  resets (so doctor, validate and monitor can reconnect to a running application).
- The SVL's auto-baud times rising edges of the RX pad as a GPIO (rx_pin.py) at `line_baud`, the rate the host's
  bytes are put on the wire (a socket has none).
- Its RSTGEN.SWPOI after DONE is a reboot: new core and peripherals, the flash kept.
- When the SVL jumps to an erased application vector the board stops ("parked") until the next reset.
"""

from __future__ import annotations

import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from unicorn import UC_HOOK_CODE

from ...errors import UserError
from .board import UART0, EdgeEmulator, _wait_for_hello, listen
from .core import FLASH, FLASH_SIZE, SRAM, SRAM_SIZE, SVL_APP, Image, Machine, load_image
from .fault import ResetRequested
from .peripheral import UnmodelledAccess
from .peripherals import attach_all
from .rx_pin import RxPin

DEFAULT_LINE_BAUD = 921_600  # the rate `vwwdeploy flash` tries first, PlatformIO's svl default
SVL_WINDOW_S = 0.2  # main.c's bl_entry_timeout_ms
RESET_WAIT_S = 5.0


def load_flash_file(path: Path) -> bytes:
    data = path.read_bytes()
    if len(data) != FLASH_SIZE:
        raise UserError(f"{path}: not an emulated Edge flash file ({len(data)} bytes, expected {FLASH_SIZE})")
    return data


@dataclass(eq=False)
class SvlEdge(EdgeEmulator):
    svl: Image | None = None
    app: Image | None = None
    line_baud: int = DEFAULT_LINE_BAUD
    flash_file: Path | None = None
    phase: str = "svl"  # svl (the bootloader runs), app (it started the application), parked (nothing to start)
    reboots: int = 0
    _reset: threading.Event = field(default_factory=threading.Event, repr=False)
    _reset_done: threading.Event = field(default_factory=threading.Event, repr=False)

    # building a board ---------------------------------------------------------------------------------------
    @staticmethod
    def new_machine(svl: Image, flash: bytes, line_baud: int, symbols=()) -> Machine:
        m = Machine(Image(svl.path, svl.base, [], sorted(svl.symbols + list(symbols))))
        m.uc.mem_write(FLASH, flash)
        attach_all(m)
        RxPin(m, line_baud)
        return m

    def _arm(self, m: Machine) -> None:
        """Hook the SVL's app_start: decide there whether it starts an application or finds erased flash."""
        m.peripherals[UART0].tx_sink = self._send
        entry = next(a for a, _, n in self.svl.symbols if n == "app_start")

        def at_app_start(uc, addr, size, _):
            sp, reset = struct.unpack("<II", bytes(uc.mem_read(SVL_APP, 8)))
            valid = SRAM < sp <= SRAM + SRAM_SIZE and reset & 1 and SVL_APP <= reset & ~1 < FLASH_SIZE
            self.phase = "app" if valid else "parked"
            if not valid:
                uc.emu_stop()

        m.uc.hook_add(UC_HOOK_CODE, at_app_start, begin=entry, end=entry)
        m.reset()

    def flash_bytes(self) -> bytes:
        return bytes(self.machine.uc.mem_read(FLASH, FLASH_SIZE))

    def save_flash(self) -> None:
        if self.flash_file is None:
            return
        from ...atomic import atomic_write_bytes

        atomic_write_bytes(self.flash_file, self.flash_bytes())

    def _reboot(self) -> None:
        old = self.machine
        pending = list(old.peripherals[UART0].host_rx)
        m = self.new_machine(self.svl, self.flash_bytes(), self.line_baud, self._app_symbols())
        m.peripherals[UART0].host_rx.extend(pending)
        self.machine = m
        self.phase = "svl"
        self.reboots += 1
        self._arm(m)
        if old.flash_writes:
            self.save_flash()

    def _app_symbols(self):
        return self.app.symbols if self.app is not None else ()

    # running ------------------------------------------------------------------------------------------------
    def _on_connect(self) -> None:
        if self.phase in ("svl", "parked") and not self._stop.is_set():
            self._reset_done.clear()
            self._reset.set()
            self.machine.next_event = 0
            self._reset_done.wait(RESET_WAIT_S)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._reset.is_set():
                    self._reboot()
                    self._reset.clear()
                    self._reset_done.set()
                if self.phase == "parked":
                    self._reset.wait(0.1)
                    continue
                self._run_until_reset()
        finally:
            self._reset_done.set()
            if self.error is None:
                self.save_flash()

    def _run_until_reset(self) -> None:
        m = self.machine
        start = time.monotonic()

        def pace() -> None:
            if self._reset.is_set() or self._stop.is_set():
                m.uc.emu_stop()
                return
            ahead = m.time_s() - (time.monotonic() - start)
            if ahead > 0.002:
                time.sleep(min(ahead, 0.05))

        m.on_tick = pace
        try:
            m.run(should_stop=lambda: self._stop.is_set() or self._reset.is_set() or self.phase == "parked")
        except ResetRequested:
            self._reset.set()
        except UnmodelledAccess as e:
            pc = getattr(e, "pc", 0) or 0
            self.error = f"unmodelled register {e} at PC 0x{pc:08X} {m.image.symbol(pc)}"
            self._stop.set()
        except Exception as e:  # noqa: BLE001 - the reason is what the caller reports
            self.error = f"firmware stopped: {e}"
            self._stop.set()


def start_svl_edge(
    svl: str | Path | None = None,
    app: str | Path | None = None,
    flash_file: str | Path | None = None,
    port: int = 0,
    line_baud: int = DEFAULT_LINE_BAUD,
    boot_timeout: float = 60.0,
) -> SvlEdge:
    """Power the board on with the SVL at 0xC000; returns once the SVL has either started an application that
    answers HELLO (`.info` set) or found none (`.phase == "parked"`, `.info` None)."""
    from ...firmware.svl_build import latest_svl

    # The application first: a wrong --firmware is the user's mistake worth naming, whatever the SVL build's state.
    app_image = None
    if app is not None:
        app_path = Path(app)
        if not app_path.is_file():
            raise UserError(
                f"Edge firmware {app_path} does not exist: build it with `vwwdeploy firmware build "
                "--env sparkfun_edge_svl`"
            )
        app_image = load_image(app_path, expect=SVL_APP)
    ff = Path(flash_file) if flash_file is not None else None
    if ff is not None and not ff.exists() and not ff.parent.is_dir():
        raise UserError(f"--flash-file {ff}: directory {ff.parent} does not exist")
    svl_path = Path(svl) if svl is not None else latest_svl()
    if not svl_path.is_file():
        raise UserError(
            f"SVL bootloader {svl_path} does not exist: build it with `vwwdeploy firmware build --bootloader svl`"
        )
    svl_image = load_image(svl_path, expect=0xC000)
    if not any(n == "app_start" for _, _, n in svl_image.symbols):
        raise UserError(f"{svl_path}: not the SVL bootloader build (no app_start symbol)")
    flash = bytearray(b"\xff" * FLASH_SIZE)
    if ff is not None and ff.exists():
        flash[SVL_APP:] = load_flash_file(ff)[SVL_APP:]
    if app_image is not None:
        flash[SVL_APP:] = b"\xff" * (FLASH_SIZE - SVL_APP)
        for addr, data in app_image.segments:
            if addr < SRAM:
                flash[addr : addr + len(data)] = data
    for addr, data in svl_image.segments:
        if addr < SRAM:
            flash[addr : addr + len(data)] = data
    machine = SvlEdge.new_machine(svl_image, bytes(flash), line_baud, app_image.symbols if app_image else ())
    server = listen(port)
    emu = SvlEdge(
        machine,
        svl_path.resolve(),
        server.getsockname()[1],
        _server=server,
        svl=svl_image,
        app=app_image,
        line_baud=line_baud,
        flash_file=ff,
    )
    emu._arm(machine)
    t0 = time.monotonic()
    emu._thread = threading.Thread(target=emu._run, name="edge-cpu", daemon=True)
    emu._thread.start()
    threading.Thread(target=emu._serve, name="edge-uart", daemon=True).start()
    try:
        deadline = time.monotonic() + boot_timeout
        while emu.phase == "svl" and emu.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not emu.alive():
            raise UserError(f"the emulated Edge stopped in the SVL: {emu.exit_reason()}")
        if emu.phase == "app":
            emu.info = _wait_for_hello(emu, max(1.0, deadline - time.monotonic()))
        elif emu.phase == "svl":
            raise UserError(f"the SVL did not finish its {SVL_WINDOW_S:g} s listening window in {boot_timeout:g} s")
    except BaseException:
        emu.stop()
        raise
    emu.boot_wall_s = time.monotonic() - t0
    return emu
