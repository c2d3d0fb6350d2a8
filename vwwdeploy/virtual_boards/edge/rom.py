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


def call(m, addr: int) -> None:
    uc = m.uc
    r = [uc.reg_read(getattr(A, f"UC_ARM_REG_R{i}")) for i in range(4)]
    result = 0
    if addr == DELAY_CYCLES:
        # the ROM loop takes 3 cycles per count (am_hal_flash_delay divides by 3)
        m.cycles += 3 * r[0]
    elif addr == FLASH_PAGE_ERASE:
        inst, page = r[1], r[2]
        uc.mem_write(inst * 512 * 1024 + page * PAGE, b"\xff" * PAGE)
    elif addr == FLASH_PROGRAM_MAIN:
        src, dst, words = r[1], r[2], r[3]
        uc.mem_write(dst, bytes(uc.mem_read(src, 4 * words)))
    elif addr == FLASH_UTIL_READ_WORD:
        result = _bus_read(m, r[0])
    elif addr == FLASH_UTIL_WRITE_WORD:
        _bus_write(m, r[0], r[1])
    else:
        raise FirmwareFault(f"call of an unmodelled boot ROM helper at 0x{addr | 1:08X}\n" + m.fault_report())
    uc.reg_write(A.UC_ARM_REG_R0, result)
    uc.reg_write(A.UC_ARM_REG_PC, uc.reg_read(A.UC_ARM_REG_LR) | 1)
