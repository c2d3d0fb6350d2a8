"""The Apollo3 boot ROM helpers the HAL calls at fixed addresses (am_hal_flash.c's g_am_hal_flash), done in
Python: delay cycles and the flash program/erase calls on the emulated flash."""

from unicorn import arm_const as A

from .fault import FirmwareFault

DELAY_CYCLES = 0x0800009C
FLASH_PAGE_ERASE = 0x08000050
FLASH_PROGRAM_MAIN = 0x08000054
FLASH_MASS_ERASE = 0x0800004C
FLASH_UTIL_READ_WORD = 0x08000074
FLASH_UTIL_WRITE_WORD = 0x08000078
PAGE = 8192
INSTANCE = 512 * 1024
PROGRAM_KEY = 0x12344321  # AM_HAL_FLASH_PROGRAM_KEY
# Nonzero returns of the helpers: the HAL passes them on and the SVL only tests for nonzero (which values the ROM
# gives is not documented in the SDK), so these are this emulator's own.
BAD_KEY, BAD_ARGUMENT = 1, 2


def _bus_read(m, addr: int) -> int:
    if addr >= 0x40000000:
        p, off = m._find(addr)
        return p.read(off)
    return int.from_bytes(m.uc.mem_read(addr, 4), "little")


def _bus_write(m, addr: int, value: int) -> None:
    if addr >= 0x40000000:
        p, off = m._find(addr)
        p.write(off, value)
    else:
        m.uc.mem_write(addr, value.to_bytes(4, "little"))


def _page_erase(m, key: int, inst: int, page: int) -> int:
    if key != PROGRAM_KEY:
        return BAD_KEY
    if inst >= 2 or page >= INSTANCE // PAGE:
        return BAD_ARGUMENT
    m.uc.mem_write(inst * INSTANCE + page * PAGE, b"\xff" * PAGE)
    m.flash_writes += 1
    return 0


def _program(m, key: int, src: int, dst: int, words: int) -> int:
    """Programming can only clear bits (NOR flash): a word written twice without an erase keeps the AND."""
    if key != PROGRAM_KEY:
        return BAD_KEY
    if dst & 3 or dst + 4 * words > 2 * INSTANCE:
        return BAD_ARGUMENT
    new = bytes(m.uc.mem_read(src, 4 * words))
    old = bytes(m.uc.mem_read(dst, 4 * words))
    anded = int.from_bytes(old, "little") & int.from_bytes(new, "little")
    m.uc.mem_write(dst, anded.to_bytes(len(new), "little"))
    m.flash_writes += 1
    return 0


def call(m, addr: int) -> None:
    uc = m.uc
    r = [uc.reg_read(getattr(A, f"UC_ARM_REG_R{i}")) for i in range(4)]
    result = 0
    if addr == DELAY_CYCLES:
        # the ROM loop takes 3 cycles per count (am_hal_flash_delay divides by 3)
        m.cycles += 3 * r[0]
    elif addr == FLASH_PAGE_ERASE:
        result = _page_erase(m, *r[:3])
    elif addr == FLASH_PROGRAM_MAIN:
        result = _program(m, *r)
    elif addr == FLASH_UTIL_READ_WORD:
        result = _bus_read(m, r[0])
    elif addr == FLASH_UTIL_WRITE_WORD:
        _bus_write(m, r[0], r[1])
    else:
        raise FirmwareFault(f"call of an unmodelled boot ROM helper at 0x{addr | 1:08X}\n" + m.fault_report())
    uc.reg_write(A.UC_ARM_REG_R0, result)
    uc.reg_write(A.UC_ARM_REG_PC, uc.reg_read(A.UC_ARM_REG_LR) | 1)
