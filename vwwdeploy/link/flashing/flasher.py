"""`flash()`: load the firmware, find the bootloader (trying the other baud when one gets no answer), send the
image with a progress bar, and start over when a transfer is interrupted."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import serial

from vwwdeploy.constants import FLASH_BAUDS, FLASH_REPLY_TIMEOUT_S
from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.link import port as ports
from vwwdeploy.link.flashing import asb_image, asb_protocol, firmware, svl_protocol
from vwwdeploy.link.flashing.errors import Garbled, NoAnswer, RetriesExhausted

PREFERRED_BAUDS = FLASH_BAUDS
ASB_BAUDS = tuple(sorted(FLASH_BAUDS))  # the rates the ASB speaks
NO_BOOTLOADER = "no bootloader answered"


@dataclass(frozen=True)
class FlashResult:
    name: str
    protocol: str
    port: str
    baud: int
    size: int
    load_address: int
    seconds: float
    attempts: int
    resends: int  # NACKs / RETRYs the bootloader asked for


def baud_order(protocol: str, baud: int | None) -> list[int]:
    allowed = ASB_BAUDS if protocol == "asb" else svl_protocol.BAUDS
    if baud is not None and baud not in allowed:
        raise UserError(
            f"--baud {baud} is not a rate the {protocol.upper()} speaks: use one of " + ", ".join(map(str, allowed))
        )
    first = baud or PREFERRED_BAUDS[0]
    return [first] + [b for b in PREFERRED_BAUDS if b != first]


def flash(
    path: str | Path,
    port: str | None = None,
    protocol: str | None = None,
    baud: int | None = None,
    wait: float = 6.0,
    timeout: float = FLASH_REPLY_TIMEOUT_S,
    attempts: int = 3,
    settle: float = 0.15,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> FlashResult:
    """Flash a .bin/.elf onto the Edge; raises UserError (bad input) or DeviceError (board trouble)."""
    if log is None:
        log = _say
    if protocol not in (None, "auto", "asb", "svl"):
        raise UserError(f"unknown protocol {protocol!r}: use asb or svl")
    fw = firmware.load(path)
    requested = None if protocol in (None, "auto") else protocol
    protocol = firmware.choose_protocol(fw, requested)
    if requested is None and fw.load_address is None and firmware.ambiguous(fw):
        log(
            f"{fw.name} has no link address (a .bin); its vectors point above 0x10000, so it is taken as an "
            "SVL image (pass --protocol asb if it is linked for 0xC000, or flash the .elf)"
        )
    firmware.check_size(fw, protocol)
    bauds = baud_order(protocol, baud)
    if attempts < 1:
        raise UserError("--attempts must be at least 1")
    name = port or ports.find_port()
    started = time.monotonic()
    link = ports.open_port(name, bauds[0], timeout, write_timeout=max(timeout, 5.0))
    try:
        runner = _AsbRun(link, fw, timeout, log) if protocol == "asb" else _SvlRun(link, fw, timeout, settle, log)
        connected = _connect(runner, link, name, bauds, wait, log)
        for attempt in range(1, attempts + 1):
            try:
                with _Progress(progress, runner.total_bytes, f"{protocol.upper()} {fw.name}") as advance:
                    runner.transfer(advance)
                break
            except (NoAnswer, Garbled, RetriesExhausted) as exc:
                if attempt == attempts:
                    tries = f"{attempts} attempts" if attempts > 1 else "1 attempt"
                    raise DeviceError(f"flashing failed after {tries}: {exc}") from None
                log(f"transfer interrupted ({exc}); starting over (attempt {attempt + 1} of {attempts})")
                connected = _connect(runner, link, name, [connected] + [b for b in bauds if b != connected], wait, log)
    except (serial.SerialException, OSError) as exc:  # unplugged, adapter reset, write timeout
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DeviceError(
            f"lost serial port {name} during flashing ({detail}): check the cable and run again"
        ) from None
    finally:
        link.close()
    result = FlashResult(
        fw.name,
        protocol,
        name,
        connected,
        len(fw.data),
        firmware.LOAD_ADDRESS[protocol],
        time.monotonic() - started,
        attempt,
        runner.resends,
    )
    return result


def _say(message: str) -> None:
    # Plain stderr, never wrapped: every message is one line. While the progress bar is live, rich redirects
    # stderr so these lines appear above it.
    print(message, file=sys.stderr, flush=True)


def _connect(runner, link, name: str, bauds: list[int], wait: float, log) -> int:
    log(runner.instructions(name))
    for i, rate in enumerate(bauds):
        link.baudrate = rate
        if runner.handshake(wait):
            if i:
                log(f"the bootloader answered at {rate} baud, not {bauds[0]} (pass --baud {rate} next time)")
            return rate
        if i + 1 < len(bauds):
            log(f"no answer at {rate} baud; trying {bauds[i + 1]} (some Edges answer only at that rate)")
    tried = " and ".join(map(str, bauds))
    raise DeviceError(f"{NO_BOOTLOADER}: {runner.hint} (tried {name} at {tried} baud)")


class _AsbRun:
    hint = "hold button 14 and tap RST, keep holding 14 and run this again"

    def __init__(self, link, fw: firmware.Firmware, timeout: float, log):
        self.session = asb_protocol.AsbSession(link, reply_timeout=timeout, log=log)
        self.fw = fw
        self.log = log
        self.status: asb_protocol.Status | None = None
        blob = asb_image.build_image_blob(fw.data, asb_image.IMAGE_LOAD_ADDRESS)
        self.blocks = asb_image.build_wired_update(blob)

    @property
    def total_bytes(self) -> int:
        return sum(len(b.data) for b in self.blocks)

    @property
    def resends(self) -> int:
        return self.session.nacks

    def instructions(self, name: str) -> str:
        return f"Hold button 14 on the Edge and tap RST (keep holding 14 until the transfer starts); waiting on {name}"

    def handshake(self, wait: float) -> bool:
        self.status = asb_protocol.wait_for_hello(self.session, wait)
        if self.status is None:
            return False
        block = asb_image.WU_HEADER_SIZE + asb_image.DEFAULT_SPLIT
        if self.status.max_storage and self.status.max_storage < block:
            # The bootloader holds less than upstream's default block: cut smaller (still whole flash pages).
            split = asb_image.split_for_storage(self.status.max_storage)
            if not split:
                raise DeviceError(
                    f"the bootloader reports only {self.status.max_storage} bytes of storage, "
                    "less than one flash page: cannot send a wired update"
                )
            self.blocks = asb_image.build_wired_update(asb_image.build_image_blob(self.fw.data), split=split)
        return True

    def transfer(self, advance: Callable[[int], None]) -> None:
        self.session.ota_descriptor()
        for block in reversed(self.blocks):  # last block first, as upstream does
            self.session.send_block(block, advance)
        self.session.reset(asb_protocol.RESET_POI)


class _SvlRun:
    hint = (
        "tap RST just before running this (the SVL listens ~200 ms after a reset); a board with only the "
        "factory ASB needs the SVL installed or a build linked for 0xC000 (upload_protocol = asb)"
    )

    def __init__(self, link, fw: firmware.Firmware, timeout: float, settle: float, log):
        self.link, self.fw, self.timeout, self.settle, self.log = link, fw, timeout, settle, log
        self.total_bytes = sum(len(f) for f in svl_protocol.frames(fw.data))
        self.resends = 0
        self.version: int | None = None

    def instructions(self, name: str) -> str:
        return f"Resetting the Edge into the SVL bootloader on {name} (tap RST if your adapter cannot reset it)"

    def handshake(self, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            svl_protocol.pulse_reset(self.link, self.settle)
            try:
                # Short: without DTR wired to RST the user taps RST, and the SVL listens only ~200 ms after it.
                self.version = svl_protocol.handshake(self.link, min(0.2, left))
                return True
            except (NoAnswer, Garbled):
                continue
        return False

    def transfer(self, advance: Callable[[int], None]) -> None:
        self.resends += svl_protocol.upload(self.link, self.fw.data, self.timeout, advance, self.log)


class _Progress:
    """A rich progress bar in bytes (stderr), or nothing."""

    def __init__(self, enabled: bool, total: int, description: str):
        self.enabled, self.total, self.description = enabled, total, description

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from vwwdeploy.progress import progress_bar

        self.bar = progress_bar()
        self.bar.__enter__()
        task = self.bar.add_task(self.description, total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)
