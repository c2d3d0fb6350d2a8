"""The emulated Edge's core without firmware: exception entry/return, PRIMASK, faults, bad images, UART flags.
Programs are a few hand-encoded Thumb instructions in an Apollo3-shaped image linked at 0xC000."""

import struct

import pytest

pytest.importorskip("unicorn", reason="unicorn (the emulated Edge's CPU core) is not installed")

from vwwdeploy.errors import UserError  # noqa: E402
from vwwdeploy.virtual_boards.edge import core, svd  # noqa: E402
from vwwdeploy.virtual_boards.edge.peripheral import UnmodelledAccess  # noqa: E402

BASE, SP = 0xC000, 0x10001000
RESET, HANDLER, POOL = 0xC100, 0xC140, 0xC180
MARK = 0x10000000
UART0_VECTOR = 16 + 15

needs_svd = pytest.mark.skipif(not svd.svd_path().is_file(), reason="the AmbiqSuite SDK (apollo3.svd) is not cached")


class Program:
    """Thumb code at fixed addresses plus a literal pool for 32-bit constants (ldr rt, [pc, #imm])."""

    def __init__(self):
        self.image = bytearray(0x200)
        self.pool: list[int] = []
        struct.pack_into("<II", self.image, 0, SP, RESET | 1)
        struct.pack_into("<I", self.image, 4 * UART0_VECTOR, HANDLER | 1)

    def put(self, addr: int, *halfwords: int) -> None:
        for i, h in enumerate(halfwords):
            struct.pack_into("<H", self.image, addr - BASE + 2 * i, h)

    def ldr(self, at: int, rt: int, value: int) -> int:
        if value not in self.pool:
            self.pool.append(value)
        slot = POOL + 4 * self.pool.index(value)
        struct.pack_into("<I", self.image, slot - BASE, value)
        return 0x4800 | rt << 8 | (slot - ((at + 4) & ~3)) // 4

    def machine(self, tmp_path) -> core.Machine:
        path = tmp_path / "prog.bin"
        path.write_bytes(bytes(self.image))
        m = core.Machine(core.load_image(path))
        m.reset()
        return m


def _irq_program(primask: bool) -> Program:
    p = Program()
    code = [
        0xB672 if primask else 0xBF00,  # cpsid i / nop
        p.ldr(RESET + 2, 0, 0xE000E100),  # NVIC ISER0
        p.ldr(RESET + 4, 1, 1 << 15),  # UART0 interrupt
        0x6001,  # str r1, [r0]
        p.ldr(RESET + 8, 2, 0xE000E200),  # NVIC ISPR0
        0x6011,  # str r1, [r2]: pend it
        0x2507,  # movs r5, #7 (thread code after the interrupt)
        0xE7FE,  # b .
    ]
    p.put(RESET, *code)
    p.put(HANDLER, p.ldr(HANDLER, 3, MARK), 0x245A, 0x601C, 0x4770)  # ldr r3,=MARK; movs r4,#0x5A; str; bx lr
    return p


def _reg(m, name):
    from unicorn import arm_const

    return m.uc.reg_read(getattr(arm_const, f"UC_ARM_REG_{name}"))


def test_pending_enabled_interrupt_is_taken_and_returns(tmp_path):
    m = _irq_program(primask=False).machine(tmp_path)
    m.run(max_cycles=500)
    assert struct.unpack("<I", bytes(m.uc.mem_read(MARK, 4)))[0] == 0x5A
    assert m.active == []
    assert _reg(m, "SP") == SP  # the frame was unstacked
    assert _reg(m, "R5") == 7  # thread code resumed after the return
    assert m.system.pending == 0


def test_primask_holds_the_interrupt_pending(tmp_path):
    m = _irq_program(primask=True).machine(tmp_path)
    m.run(max_cycles=500)
    assert struct.unpack("<I", bytes(m.uc.mem_read(MARK, 4)))[0] == 0
    assert m.system.pending == 1 << 15
    assert _reg(m, "R5") == 7


def test_undefined_instruction_ends_with_a_fault_report(tmp_path):
    p = Program()
    p.put(RESET, 0xBF00, 0xDE00)  # nop; udf #0
    m = p.machine(tmp_path)
    with pytest.raises(core.FirmwareFault, match=r"PC 0x0000C102"):
        m.run(max_cycles=500)


@needs_svd
def test_unmodelled_register_stops_with_name_and_pc(tmp_path):
    from vwwdeploy.virtual_boards.edge.peripherals import attach_all

    p = Program()
    p.put(RESET, p.ldr(RESET, 0, 0x50010000), 0x6801, 0xE7FE)  # ldr r0,=ADC.CFG; ldr r1,[r0]; b .
    m = p.machine(tmp_path)
    attach_all(m)
    with pytest.raises(UnmodelledAccess, match=r"read 0x50010000 \(ADC\.CFG\)") as err:
        m.run(max_cycles=500)
    assert err.value.pc == RESET + 2


@needs_svd
def test_uart_flags_and_interrupt_status(tmp_path):
    from vwwdeploy.virtual_boards.edge.uart import RTIM, RXIM, Uart

    m = Program().machine(tmp_path)
    uart = Uart(m)
    sent = bytearray()
    uart.tx_sink = sent.extend
    fr, dr, ier, ies, mis = (uart.offset_of[n] for n in ("FR", "DR", "IER", "IES", "MIS"))
    assert uart.read(fr) & (1 << 4)  # RXFE
    uart.write(ier, RXIM | RTIM)
    uart.host_rx.extend(b"AB")
    uart.tick(m)
    assert not uart.read(fr) & (1 << 4)
    assert uart.read(mis) & RTIM  # fewer bytes than the FIFO level: receive timeout
    assert m.system.pending & (1 << 15)
    assert (uart.read(dr), uart.read(dr)) == (0x41, 0x42)
    assert uart.read(fr) & (1 << 4) and not uart.read(ies) & (RXIM | RTIM)
    uart.write(dr, 0x5A)
    assert bytes(sent) == b"Z"


def _arm_elf(tmp_path, vaddr: int, machine: int = 40) -> object:
    """A minimal 32-bit little-endian ELF with one PT_LOAD segment holding a vector table."""
    body = struct.pack("<II", SP, (vaddr + 0x101)) + bytes(0x200)
    ehdr = struct.pack(
        "<16sHHIIIIIHHHHHH", b"\x7fELF\x01\x01\x01" + bytes(9), 2, machine, 1, vaddr, 52, 0, 0, 52, 32, 1, 40, 0, 0
    )
    phdr = struct.pack("<IIIIIIII", 1, 84, vaddr, vaddr, len(body), len(body), 5, 4)
    path = tmp_path / "app.elf"
    path.write_bytes(ehdr + phdr + body)
    return path


def test_bad_images_give_one_line(tmp_path):
    with pytest.raises(UserError, match="linked at 0x0"):
        core.load_image(_arm_elf(tmp_path, 0x0))
    with pytest.raises(UserError, match="not an ARM"):
        core.load_image(_arm_elf(tmp_path, BASE, machine=62))
    assert core.load_image(_arm_elf(tmp_path, BASE)).base == BASE
    cut = tmp_path / "cut.bin"
    cut.write_bytes(bytes(Program().image)[:40])
    with pytest.raises(UserError, match="truncated"):
        core.load_image(cut)


def test_cli_rejects_a_non_edge_elf(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "vwwdeploy",
            "emulate",
            "--board",
            "edge",
            "--firmware",
            str(_arm_elf(tmp_path, BASE, machine=62)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "not an ARM" in out.stderr and "Traceback" not in out.stderr


class _Register16:
    """A stand-in I2C slave with 16-bit register addresses (the HM01B0 convention), for the IOM's framing."""

    I2C_ADDRESS = 0x24

    def __init__(self):
        self.regs = {0x0000: 0x01, 0x0001: 0xB0}
        self.pointer = 0
        self.writes: list[bytes] = []

    def i2c_write(self, data: bytes) -> bool:
        self.writes.append(data)
        self.pointer = data[0] << 8 | data[1]
        for i, b in enumerate(data[2:]):
            self.regs[self.pointer + i] = b
        return True

    def i2c_read(self, n: int) -> bytes:
        return bytes(self.regs.get(self.pointer + i, 0) for i in range(n))


@needs_svd
def test_iom_i2c_write_and_read_with_a_16_bit_register_address(tmp_path):
    from vwwdeploy.virtual_boards.edge.iom import CMDCMP, NAK, Iom

    m = Program().machine(tmp_path)
    iom = Iom(m, 1)
    iom.base = 0x50005000
    dev = _Register16()
    iom.devices[0x24] = dev
    o = iom.offset_of
    iom.write(o["DEVCFG"], 0x24)
    # write 0x0100 = 0x01 (mode select): offset count 2, high byte in OFFSETHI, low in CMD.OFFSETLO, 1 data byte
    iom.write(o["OFFSETHI"], 0x01)
    iom.write(o["CMD"], 1 | 1 << 8 | 2 << 5 | 0x00 << 24)
    assert dev.writes == []  # the data byte is not pushed yet
    iom.write(o["FIFOPUSH"], 0x01)
    assert dev.writes == [b"\x01\x00\x01"]
    assert iom.read(o["INTSTAT"]) & CMDCMP and not iom.read(o["INTSTAT"]) & NAK
    # read the model ID (0x0000, 2 bytes)
    iom.write(o["OFFSETHI"], 0x00)
    iom.write(o["CMD"], 2 | 2 << 8 | 2 << 5)
    assert (iom.read(o["FIFOPTR"]) >> 16) & 0xFF == 2
    assert iom.read(o["FIFOPOP"]) & 0xFFFF == 0xB001
    # nobody at another address: NAK
    iom.write(o["INTCLR"], 0xFFFFFFFF)
    iom.write(o["DEVCFG"], 0x30)
    iom.write(o["CMD"], 2 | 1 << 8 | 2 << 5)
    assert iom.read(o["INTSTAT"]) & NAK


@needs_svd
def test_burst_mode_doubles_the_clock_without_a_time_jump(tmp_path):
    from vwwdeploy.virtual_boards.edge.peripherals import Clkgen
    from vwwdeploy.virtual_boards.edge.timers import Ctimer

    m = Program().machine(tmp_path)
    clk, timer = Clkgen(m), Ctimer(m)
    timer.write(timer.offset_of["STCFG"], 1)  # 3 MHz
    m.cycles = 48_000_000  # 1 s at 48 MHz
    before = timer.read(timer.offset_of["STTMR"])
    clk.write(clk.offset_of["FREQCTRL"], 1)  # BURSTREQ
    assert clk.read(clk.offset_of["FREQCTRL"]) & 0b110 == 0b110  # BURSTACK, BURSTSTATUS
    assert m.clock_hz == 96e6 and timer.read(timer.offset_of["STTMR"]) == before == 3_000_000
    m.cycles += 96_000_000  # one more second, now at 96 MHz
    assert timer.read(timer.offset_of["STTMR"]) == 6_000_000
