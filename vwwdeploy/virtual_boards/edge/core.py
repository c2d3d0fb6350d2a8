"""The emulated Apollo3: a unicorn Cortex-M4 with the Edge's memory map, exception entry/return done here
(unicorn does not model the NVIC), a per-block cycle estimate, and the peripherals of peripherals.py."""

import struct
from dataclasses import dataclass, field
from pathlib import Path

from unicorn import UC_ARCH_ARM, UC_HOOK_BLOCK, UC_HOOK_CODE, UC_MODE_MCLASS, UC_MODE_THUMB, Uc, UcError
from unicorn import arm_const as A

from ...errors import UserError
from ...targets import EDGE
from .fault import FirmwareFault, ResetRequested
from .peripheral import UnmodelledAccess
from .system import SystemSpace

FLASH, FLASH_SIZE = EDGE.flash_base, EDGE.flash_bytes
SRAM, SRAM_SIZE = EDGE.sram_base, EDGE.sram_bytes
ROM, ROM_SIZE = 0x08000000, 0x1000
EXC_RETURN_PAGE = 0xFFFFF000
ASB_APP, SVL_APP = EDGE.app_addresses["asb"], EDGE.app_addresses["svl"]  # where each bootloader starts apps
APP_BASES = (ASB_APP, SVL_APP)
BOOTLOADER_OF = {ASB_APP: "the secure bootloader", SVL_APP: "the SVL"}
IRQ_BASE = 16


@dataclass
class Image:
    path: Path
    base: int
    segments: list[tuple[int, bytes]]
    symbols: list[tuple[int, int, str]] = field(default_factory=list)  # (address, size, name), sorted

    def symbol(self, addr: int) -> str:
        import bisect

        i = bisect.bisect_right(self.symbols, (addr | 1, 1 << 32, "")) - 1
        for j in (i, i - 1):
            if 0 <= j < len(self.symbols):
                a, size, name = self.symbols[j]
                a &= ~1
                if a <= addr < a + max(size, 2):
                    return f"{name}+0x{addr - a:X}"
        return "?"


def load_image(path: Path, expect: int | None = None) -> Image:
    """The ELF (or a raw .bin, taken at `expect`, default 0xC000) as flash segments; with `expect`, the image
    must be linked there (the application address of the bootloader in use). One clear error for anything else."""
    data = path.read_bytes() if path.is_file() else None
    if data is None:
        raise UserError(f"firmware image not found: {path}")
    if data[:4] == b"\x7fELF":
        img = _load_elf(path)
    else:
        img = _check_vectors(Image(path, expect or ASB_APP, [(expect or ASB_APP, data)]))
    if expect is not None and img.base != expect:
        fix = "--bootloader svl" if img.base == SVL_APP else "a build linked for 0x10000 (env sparkfun_edge_svl)"
        raise UserError(
            f"{path}: linked at 0x{img.base:X} for {BOOTLOADER_OF[img.base]}, but {BOOTLOADER_OF[expect]} starts "
            f"applications at 0x{expect:X}: use {fix}"
        )
    return img


def _load_elf(path: Path) -> Image:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with path.open("rb") as f:
            elf = ELFFile(f)
            if elf["e_machine"] != "EM_ARM" or elf.elfclass != 32:
                raise UserError(f"{path}: not an ARM 32-bit ELF ({elf['e_machine']}), not an Edge image")
            segs = [
                (s["p_paddr"], s.data()) for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_filesz"] > 0
            ]
            syms = []
            tab = elf.get_section_by_name(".symtab")
            if tab is not None:
                for s in tab.iter_symbols():
                    if s["st_info"]["type"] == "STT_FUNC" and s["st_value"]:
                        syms.append((s["st_value"] & ~1, s["st_size"], s.name))
            syms.sort()
    except ELFError as e:
        raise UserError(f"{path}: not a readable ELF ({e})") from None
    if not segs:
        raise UserError(f"{path}: the ELF has no loadable segments")
    base = min(a for a, _ in segs)
    return _check_vectors(Image(path, base, segs, syms))


def _check_vectors(img: Image) -> Image:
    if img.base not in APP_BASES:
        raise UserError(
            f"{img.path}: not an Edge image: linked at 0x{img.base:X}, the Edge runs applications at 0xC000 "
            "(secure bootloader) or 0x10000 (SVL)"
        )
    first = next(d for a, d in img.segments if a == img.base)
    if len(first) < 16 * 4 + 32 * 4:
        raise UserError(f"{img.path}: truncated image ({len(first)} bytes, shorter than the vector table)")
    sp, reset = struct.unpack_from("<II", first)
    end = max(a + len(d) for a, d in img.segments)
    if not (SRAM < sp <= SRAM + SRAM_SIZE) or not (img.base <= (reset & ~1) < end) or not reset & 1:
        raise UserError(
            f"{img.path}: no Apollo3 vector table at 0x{img.base:X} (SP 0x{sp:08X}, reset 0x{reset:08X}); "
            "not an Edge image, or a truncated one"
        )
    if any(a + len(d) > FLASH_SIZE or a < 0 for a, d in img.segments if a < SRAM):
        raise UserError(f"{img.path}: image does not fit the Edge's 1 MB flash")
    return img


class Machine:
    def __init__(self, image: Image, clock_hz: float = 48e6):
        self.image = image
        self.clock_hz = clock_hz
        self.cycles = 0
        self._clock_base = (0, 0.0)  # (cycles, seconds) when the clock last changed
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        try:
            self.uc.ctl_set_cpu_model(A.UC_CPU_ARM_CORTEX_M4)
        except (AttributeError, UcError):
            pass
        self.uc.mem_map(FLASH, FLASH_SIZE)
        self.uc.mem_map(SRAM, SRAM_SIZE)
        self.uc.mem_map(ROM, ROM_SIZE)
        self.uc.mem_map(EXC_RETURN_PAGE, 0x1000)
        for addr, data in image.segments:
            self.uc.mem_write(addr, data)
        self.system = SystemSpace(self)
        self.peripherals = {}  # page base -> Peripheral
        self._block_cost: dict[int, int] = {}
        self._stop_reason: Exception | None = None
        self.active: list[int] = []  # exception numbers being handled, innermost last
        self._irq_check = True
        self.events: list = []  # objects with .tick(machine) called every block batch; see peripherals
        self.next_event = 0
        self.uc.mmio_map(0xE0000000, 0x100000, self._sys_read, None, self._sys_write, None)
        self.uc.hook_add(UC_HOOK_BLOCK, self._on_block)
        self.uc.hook_add(UC_HOOK_CODE, self._on_magic, begin=EXC_RETURN_PAGE, end=0xFFFFFFFF)
        self.uc.hook_add(UC_HOOK_CODE, self._on_rom, begin=ROM, end=ROM + ROM_SIZE - 1)
        self.rom_calls: dict[int, object] = {}
        self.flash_writes = 0  # page erases and programs through the ROM helpers (the SVL's, rom.py)

    # memory-mapped peripherals -------------------------------------------------------------------------------
    def add_peripheral(self, base: int, periph, size: int = 0x1000) -> None:
        periph.base = base
        self.peripherals[base] = periph

    def map_peripherals(self) -> None:
        for region, size in ((0x40000000, 0x100000), (0x4FFFF000, 0x1000), (0x50000000, 0x20000)):
            self.uc.mmio_map(region, size, self._p_read, region, self._p_write, region)

    def _find(self, addr: int, kind: str = "access to", value: int | None = None):
        for base, p in self.peripherals.items():
            if base <= addr < base + p.SIZE:
                return p, addr - base
        raise UnmodelledAccess(kind, addr, value)

    def _p_read(self, uc, offset, size, region):
        try:
            p, off = self._find(region + offset, "read")
            value = p.read(off & ~3)
            return (value >> (8 * (off & 3))) & ((1 << (8 * size)) - 1)
        except Exception as e:  # noqa: BLE001 - the stop reason is reported by run()
            return self._fail(e)

    def _p_write(self, uc, offset, size, value, region):
        try:
            p, off = self._find(region + offset, "write", value)
            if size < 4:  # sub-word writes of a 32-bit register: merge (the HAL uses byte writes on PADREG)
                shift = 8 * (off & 3)
                try:
                    old = p.regs.get(off & ~3, 0)
                except AttributeError:
                    old = 0
                mask = ((1 << (8 * size)) - 1) << shift
                value = (old & ~mask) | ((value << shift) & mask)
            p.write(off & ~3, value)
        except Exception as e:  # noqa: BLE001
            self._fail(e)

    def _sys_read(self, uc, offset, size, _):
        try:
            return self.system.read(0xE0000000 + offset)
        except Exception as e:  # noqa: BLE001
            return self._fail(e)

    def _sys_write(self, uc, offset, size, value, _):
        try:
            self.system.write(0xE0000000 + offset, value)
        except Exception as e:  # noqa: BLE001
            self._fail(e)

    def _fail(self, e: Exception) -> int:
        if self._stop_reason is None:
            self._stop_reason = e
            self._fault_pc = self._precise_pc()
        self.uc.emu_stop()
        return 0

    def _precise_pc(self) -> int:
        """The PC of the instruction that made the access: unicorn only updates PC per block in MMIO callbacks,
        so the block is disassembled from its start to its first load/store that is not a literal-pool load (a
        block with several such accesses is named by its first: the report says "near")."""
        start = self.pc()
        from capstone import CS_ARCH_ARM, CS_MODE_MCLASS, CS_MODE_THUMB, Cs

        md = Cs(CS_ARCH_ARM, CS_MODE_THUMB | CS_MODE_MCLASS)
        try:
            code = bytes(self.uc.mem_read(start & ~1, 64))
        except UcError:
            return start
        for ins in md.disasm(code, start & ~1):
            if ins.mnemonic.startswith(("ldr", "str", "ldm", "stm")) and "[pc" not in ins.op_str:
                return ins.address
            if ins.mnemonic.startswith(("b", "cb", "tb", "pop")) and not ins.mnemonic.startswith("bic"):
                break
        return start

    def time_s(self) -> float:
        """Emulated time: cycles at the clock in force since the last change (48 MHz, 96 MHz in burst)."""
        c0, t0 = self._clock_base
        return t0 + (self.cycles - c0) / self.clock_hz

    def set_clock(self, hz: float) -> None:
        if hz != self.clock_hz:
            self._clock_base = (self.cycles, self.time_s())
            self.clock_hz = hz

    def pc(self) -> int:
        return self.uc.reg_read(A.UC_ARM_REG_PC)

    # cycle estimate ------------------------------------------------------------------------------------------
    def _cost(self, addr: int, size: int) -> int:
        from .cycles import block_cycles

        cost = block_cycles(self.uc.mem_read(addr, size), addr)
        self._block_cost[addr] = cost
        return cost

    def _on_block(self, uc, addr, size, _):
        cost = self._block_cost.get(addr)
        if cost is None:
            cost = self._cost(addr, size)
        self.cycles += cost
        if self.cycles >= self.next_event:
            self._tick()
        if self._irq_check and self._deliverable() is not None:
            self.uc.emu_stop()

    def on_tick(self) -> None:
        """Called every few thousand emulated cycles (the board paces emulated time against wall time here)."""

    def _tick(self) -> None:
        self.on_tick()
        nxt = self.cycles + 4096
        for dev in self.events:
            t = dev.tick(self)
            if t is not None:
                nxt = min(nxt, t)
        self.next_event = nxt

    # interrupts ----------------------------------------------------------------------------------------------
    def irq_changed(self) -> None:
        self._irq_check = True

    def schedule_systick(self) -> None:
        self.irq_changed()

    def set_pending(self, irq: int) -> None:
        self.system.pending |= 1 << irq
        self._irq_check = True

    def active_exception(self) -> int:
        return self.active[-1] if self.active else 0

    def _exc_priority(self, exc: int) -> int:
        if exc >= IRQ_BASE:
            return self.system.priority[exc - IRQ_BASE]
        if exc == 15:
            return (self.system.shpr[2] >> 24) & 0xFF
        return -1

    def _deliverable(self) -> int | None:
        s = self.system
        ready = s.pending & s.enabled
        if not ready and not s.systick_pending:
            self._irq_check = False
            return None
        if self.uc.reg_read(A.UC_ARM_REG_PRIMASK) & 1:
            return None
        current = min((self._exc_priority(e) for e in self.active), default=256)
        best = None
        if s.systick_pending and self._exc_priority(15) < current:
            best, current = 15, self._exc_priority(15)
        for irq in range(32):
            if ready >> irq & 1 and s.priority[irq] < current:
                best, current = IRQ_BASE + irq, s.priority[irq]
        return best

    def _enter(self, exc: int) -> None:
        uc = self.uc
        if exc >= IRQ_BASE:
            self.system.pending &= ~(1 << (exc - IRQ_BASE))
        elif exc == 15:
            self.system.systick_pending = False
        sp = uc.reg_read(A.UC_ARM_REG_SP)
        xpsr = uc.reg_read(A.UC_ARM_REG_XPSR)
        regs = [
            uc.reg_read(r)
            for r in (
                A.UC_ARM_REG_R0,
                A.UC_ARM_REG_R1,
                A.UC_ARM_REG_R2,
                A.UC_ARM_REG_R3,
                A.UC_ARM_REG_R12,
                A.UC_ARM_REG_LR,
            )
        ]
        pc = uc.reg_read(A.UC_ARM_REG_PC)
        fp = bool(self.system.cpacr & (0xF << 20))
        frame = regs + [pc, xpsr & ~0x1FF]
        if fp:
            frame += [uc.reg_read(getattr(A, f"UC_ARM_REG_S{i}")) for i in range(16)]
            frame += [uc.reg_read(A.UC_ARM_REG_FPSCR), 0]
        align = sp & 4
        sp = (sp - 4 * len(frame)) & ~7
        if align:
            frame[7] |= 1 << 9
        uc.mem_write(sp, struct.pack(f"<{len(frame)}I", *frame))
        uc.reg_write(A.UC_ARM_REG_SP, sp)
        uc.reg_write(A.UC_ARM_REG_LR, 0xFFFFFFE9 if fp else 0xFFFFFFF9)
        vector = struct.unpack("<I", bytes(uc.mem_read(self.system.vtor + 4 * exc, 4)))[0]
        self.active.append(exc)
        self.cycles += 12
        uc.reg_write(A.UC_ARM_REG_PC, vector | 1)

    def _return(self, exc_return: int) -> None:
        uc = self.uc
        if not self.active:
            raise FirmwareFault(f"exception return 0x{exc_return:08X} in thread mode")
        self.active.pop()
        fp = not (exc_return & 0x10)
        sp = uc.reg_read(A.UC_ARM_REG_SP)
        n = 26 if fp else 8
        frame = list(struct.unpack(f"<{n}I", bytes(uc.mem_read(sp, 4 * n))))
        for r, v in zip(
            (A.UC_ARM_REG_R0, A.UC_ARM_REG_R1, A.UC_ARM_REG_R2, A.UC_ARM_REG_R3, A.UC_ARM_REG_R12, A.UC_ARM_REG_LR),
            frame[:6],
        ):
            uc.reg_write(r, v)
        if fp:
            for i in range(16):
                uc.reg_write(getattr(A, f"UC_ARM_REG_S{i}"), frame[8 + i])
            uc.reg_write(A.UC_ARM_REG_FPSCR, frame[24])
        sp += 4 * n + (4 if frame[7] & (1 << 9) else 0)
        uc.reg_write(A.UC_ARM_REG_SP, sp)
        uc.reg_write(A.UC_ARM_REG_XPSR, frame[7] & ~(1 << 9) & ~0x1FF)
        uc.reg_write(A.UC_ARM_REG_PC, frame[6] | 1)
        self.cycles += 10
        self._irq_check = True

    def _on_magic(self, uc, addr, size, _):
        self._magic = addr
        uc.emu_stop()

    def _on_rom(self, uc, addr, size, _):
        self._rom = addr
        uc.emu_stop()

    def request_reset(self, why: str) -> None:
        self._fail(ResetRequested(f"the firmware requested a reset: {why}"))

    # running -------------------------------------------------------------------------------------------------
    def reset(self) -> None:
        base = self.image.base
        sp, pc = struct.unpack("<II", bytes(self.uc.mem_read(base, 8)))
        self.system.vtor = base  # as the bootloader leaves it before jumping to the application
        self.uc.reg_write(A.UC_ARM_REG_MSP, sp)
        self.uc.reg_write(A.UC_ARM_REG_SP, sp)
        self.uc.reg_write(A.UC_ARM_REG_PC, pc | 1)

    def run(self, max_cycles: int | None = None, should_stop=lambda: False) -> None:
        """Run until should_stop() or max_cycles; raises FirmwareFault / UnmodelledAccess with the PC."""
        while True:
            if max_cycles is not None and self.cycles >= max_cycles:
                return
            if should_stop():
                return
            exc = self._deliverable() if self._irq_check else None
            if exc is not None:
                self._enter(exc)
            self._magic = self._rom = None
            pc = self.pc()
            try:
                self.uc.emu_start(pc | 1, 0xFFFFFFFF, count=0 if max_cycles is None else 0, timeout=200_000)
            except UcError as e:
                # unicorn stops with UC_ERR_EXCEPTION at an EXC_RETURN value (QEMU's exception-exit trap); the
                # return itself is done here, like the entry
                if self.pc() >= 0xFFFFFF00 and self._stop_reason is None:
                    self._return(self.pc() | 1)
                    continue
                self._raise_fault(f"CPU exception: {e}")
            if self._stop_reason is not None:
                reason, self._stop_reason = self._stop_reason, None
                reason.pc = self._fault_pc
                raise reason
            if self._magic is not None:
                if self._magic >= 0xFFFFFF00:
                    self._return(self._magic | 1)
                else:
                    self._raise_fault(f"jump to 0x{self._magic:08X}")
            elif self._rom is not None:
                self._rom_call(self._rom)

    def _rom_call(self, addr: int) -> None:
        from .rom import call

        call(self, addr)

    def _raise_fault(self, what: str) -> None:
        raise FirmwareFault(what + "\n" + self.fault_report())

    def fault_report(self) -> str:
        uc = self.uc
        pc = self.pc()
        lines = [
            f"PC 0x{pc:08X} {self.image.symbol(pc)}  LR 0x{uc.reg_read(A.UC_ARM_REG_LR):08X} "
            f"{self.image.symbol(uc.reg_read(A.UC_ARM_REG_LR) & ~1)}  SP 0x{uc.reg_read(A.UC_ARM_REG_SP):08X}"
        ]
        regs = " ".join(f"r{i}=0x{uc.reg_read(getattr(A, f'UC_ARM_REG_R{i}')):08X}" for i in range(13))
        lines.append(regs)
        try:
            from capstone import CS_ARCH_ARM, CS_MODE_MCLASS, CS_MODE_THUMB, Cs

            md = Cs(CS_ARCH_ARM, CS_MODE_THUMB | CS_MODE_MCLASS)
            for ins in md.disasm(bytes(uc.mem_read(pc & ~1, 8)), pc & ~1, count=1):
                lines.append(f"at 0x{ins.address:08X}: {ins.mnemonic} {ins.op_str}")
        except (ImportError, UcError):
            pass
        lines.append(f"emulated time {self.time_s():.3f} s ({self.cycles} cycles)")
        return "\n".join(lines)
