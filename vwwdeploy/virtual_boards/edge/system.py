"""The Cortex-M4 system space as the firmware uses it: NVIC, SCB (VTOR, fault registers, CPACR), SysTick, DWT,
ITM/CoreDebug (DEMCR). Offsets from the ARMv7-M Architecture Reference Manual, relative to 0xE0000000."""

from .peripheral import UnmodelledAccess

SCS = 0xE000E000


class SystemSpace:
    def __init__(self, machine):
        self.m = machine
        self.enabled = 0  # NVIC ISER bits, external interrupts 0..31 (the Apollo3 has 32)
        self.pending = 0
        self.priority = [0] * 32
        self.vtor = 0
        self.cpacr = 0
        self.aircr = 0xFA050000
        self.scr = 0
        self.ccr = 0x200
        self.shpr = [0, 0, 0]
        self.shcsr = 0
        self.fault = {0xD28: 0, 0xD2C: 0, 0xD30: 0, 0xD34: 0, 0xD38: 0, 0xD3C: 0}
        self.systick_ctrl = 0
        self.systick_load = 0
        self.systick_start = 0  # machine cycle when the counter was (re)loaded
        self.systick_pending = False
        self.demcr = 0
        self.dwt_ctrl = 0x40000000  # NUMCOMP=4
        self.dwt_cyccnt_base = 0  # cycle count = machine.cycles - base while enabled
        self.dwt_cyccnt_frozen = 0
        self.fpccr = 0xC0000000
        self.fpcar = 0
        self.itm_lar = 0
        # ITM trace enable/privilege/control and TPIU: storage only (no trace port; TCR.BUSY reads 0)
        self.trace = {
            0xE0000E00: 0,
            0xE0000E40: 0,
            0xE0000E80: 0,
            0xE0000FB0: 0,
            0xE0040004: 0,
            0xE0040010: 0,
            0xE00400F0: 0,
            0xE0040304: 0,
        }

    # DWT CYCCNT runs only while DEMCR.TRCENA and DWT_CTRL.CYCCNTENA are set
    def _cyccnt_running(self) -> bool:
        return bool(self.demcr & (1 << 24)) and bool(self.dwt_ctrl & 1)

    def cyccnt(self) -> int:
        if self._cyccnt_running():
            return (self.m.cycles - self.dwt_cyccnt_base) & 0xFFFFFFFF
        return self.dwt_cyccnt_frozen

    def systick_value(self) -> int:
        reload = self.systick_load + 1
        return (self.systick_load - (self.m.cycles - self.systick_start) % reload) & 0xFFFFFF

    def read(self, addr: int) -> int:
        o = addr - SCS
        if 0x100 <= o < 0x120:
            return self.enabled if o == 0x100 else 0
        if 0x180 <= o < 0x1A0:
            return self.enabled if o == 0x180 else 0
        if 0x200 <= o < 0x220:
            return self.pending if o == 0x200 else 0
        if 0x280 <= o < 0x2A0:
            return self.pending if o == 0x280 else 0
        if 0x400 <= o < 0x420:
            i = o - 0x400
            return sum(self.priority[i + k] << (8 * k) for k in range(4))
        simple = {
            0xD08: self.vtor,
            0xD88: self.cpacr,
            0xD0C: self.aircr & 0xFFFF,
            0xD10: self.scr,
            0xD14: self.ccr,
            0xD18: self.shpr[0],
            0xD1C: self.shpr[1],
            0xD20: self.shpr[2],
            0xD24: self.shcsr,
            0xD00: 0x410FC241,  # CPUID: Cortex-M4 r0p1
            0xD04: self._icsr(),
            0xF34: self.fpccr,
            0xF38: self.fpcar,
            0xDFC: self.demcr,
            0x010: self.systick_ctrl | (0x10000 if self._systick_counted() else 0),
            0x014: self.systick_load,
            0x018: self.systick_value(),
            0x01C: 0,
        }
        if o in simple:
            return simple[o]
        if o in self.fault:
            return self.fault[o]
        if addr in self.trace:
            return self.trace[addr] & ~(1 << 23)
        if addr == 0xE0001000:
            return self.dwt_ctrl
        if addr == 0xE0001004:
            return self.cyccnt()
        raise UnmodelledAccess("read", addr)

    def _systick_counted(self) -> bool:
        return False

    def _icsr(self) -> int:
        active = self.m.active_exception()
        return active & 0x1FF

    def write(self, addr: int, value: int) -> None:
        o = addr - SCS
        if o == 0x100:
            self.enabled |= value
            self.m.irq_changed()
        elif 0x104 <= o < 0x120 or 0x184 <= o < 0x1A0 or 0x204 <= o < 0x220 or 0x284 <= o < 0x2A0:
            pass  # interrupts 32+ do not exist on the Apollo3; writes of 0 there are harmless
        elif o == 0x180:
            self.enabled &= ~value
        elif o == 0x200:
            self.pending |= value
            self.m.irq_changed()
        elif o == 0x280:
            self.pending &= ~value
        elif 0x400 <= o < 0x420:
            for k in range(4):
                self.priority[o - 0x400 + k] = (value >> (8 * k)) & 0xE0  # 3 priority bits on the Apollo3
        elif o == 0xD08:
            self.vtor = value & 0xFFFFFF80
        elif o == 0xD88:
            self.cpacr = value
        elif o == 0xD0C:
            if (value >> 16) == 0x05FA:
                if value & 4:
                    self.m.request_reset("SYSRESETREQ (AIRCR)")
                self.aircr = 0xFA050000 | (value & 0x700)
        elif o == 0xD10:
            self.scr = value
        elif o == 0xD14:
            self.ccr = value
        elif o in (0xD18, 0xD1C, 0xD20):
            self.shpr[(o - 0xD18) // 4] = value
        elif o == 0xD24:
            self.shcsr = value
        elif o in self.fault:
            self.fault[o] &= ~value if o in (0xD28, 0xD2C) else 0xFFFFFFFF
        elif o == 0xD04:
            if value & (1 << 26):
                self.systick_pending = True
                self.m.irq_changed()
            if value & (1 << 25):
                self.systick_pending = False
        elif o == 0xF34:
            self.fpccr = value
        elif o == 0xF38:
            self.fpcar = value
        elif o == 0xDFC:
            was = self._cyccnt_running()
            self.demcr = value
            self._cyccnt_transition(was)
        elif o == 0x010:
            self.systick_ctrl = value & 7
            self.systick_start = self.m.cycles
            self.m.schedule_systick()
        elif o == 0x014:
            self.systick_load = value & 0xFFFFFF
        elif o == 0x018:
            self.systick_start = self.m.cycles
        elif addr == 0xE0001000:
            was = self._cyccnt_running()
            self.dwt_ctrl = (self.dwt_ctrl & 0xFF000000) | (value & 0x00FFFFFF)
            self._cyccnt_transition(was)
        elif addr == 0xE0001004:
            self.dwt_cyccnt_frozen = value
            self.dwt_cyccnt_base = self.m.cycles - value
        elif addr in self.trace:
            self.trace[addr] = value
        else:
            raise UnmodelledAccess("write", addr, value)

    def _cyccnt_transition(self, was: bool) -> None:
        now = self._cyccnt_running()
        if was and not now:
            self.dwt_cyccnt_frozen = self.cyccnt()
        elif now and not was:
            self.dwt_cyccnt_base = self.m.cycles - self.dwt_cyccnt_frozen
