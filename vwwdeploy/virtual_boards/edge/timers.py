"""CTIMER (the camera MCLK output, am_hal_ctimer.c) and STIMER (the firmware's microsecond clock,
am_hal_stimer.c), one SVD block at 0x40008000."""

from .peripheral import Peripheral

STIMER_HZ = {1: 3_000_000, 2: 187_500, 3: 32_768, 4: 16_384, 5: 1024, 6: 32_768, 7: 16_384, 8: 1024}
HFRC_HZ = 48_000_000


class Ctimer(Peripheral):
    NAME = "CTIMER"
    PLAIN = tuple(f"{r}{n}" for n in range(8) for r in ("CMPRA", "CMPRB", "CTRL", "CMPRAUXA", "CMPRAUXB", "AUX"))
    PLAIN += (
        "GLOBEN",
        "OUTCFG0",
        "OUTCFG1",
        "OUTCFG2",
        "OUTCFG3",
        "INCFG",
        "CAPTURECONTROL",
        "INTEN",
        "INTSTAT",
        "STMINTEN",
    ) + tuple(f"SCMPR{i}" for i in range(8))

    def __init__(self, machine, **kw):
        super().__init__(machine, **kw)
        self.st_base = 0.0  # emulated time of the last (re)start
        self.st_frozen = 0
        self.st_hz = 0
        self.mclk_listeners = []

    def _st_now(self) -> int:
        if not self.st_hz:
            return self.st_frozen
        return self.st_frozen + int((self.machine.time_s() - self.st_base) * self.st_hz)

    def read_STTMR(self) -> int:
        return self._st_now() & 0xFFFFFFFF

    def write_STCFG(self, v: int) -> None:
        now = self._st_now()
        self.set("STCFG", v)
        if v & (1 << 31):  # CLEAR
            now = 0
        self.st_frozen, self.st_base = now, self.machine.time_s()
        self.st_hz = 0 if v & (1 << 30) else STIMER_HZ.get(v & 0xF, 0)  # FREEZE

    def read_STMINTSTAT(self) -> int:
        return self.reg("STMINTSTAT")

    def write_STMINTSTAT(self, v):
        self.set("STMINTSTAT", v)

    def write_STMINTCLR(self, v):
        self.set("STMINTSTAT", self.reg("STMINTSTAT") & ~v)

    def write_STMINTSET(self, v):
        self.set("STMINTSTAT", self.reg("STMINTSTAT") | v)

    def write_INTCLR(self, v):
        self.set("INTSTAT", self.reg("INTSTAT") & ~v)

    def write_INTSET(self, v):
        self.set("INTSTAT", self.reg("INTSTAT") | v)

    def write_CTRL0(self, v):
        self.set("CTRL0", v)
        self._mclk_changed()

    def write_CMPRB0(self, v):
        self.set("CMPRB0", v)
        self._mclk_changed()

    def _mclk_changed(self):
        for listener in self.mclk_listeners:
            listener(self.mclk_hz(0))

    def read_TMR0(self):
        return 0

    def mclk_hz(self, timer: int = 0) -> float:
        """Frequency of timer `timer` segment B in repeated-pulse mode from the HFRC/4 (12 MHz) clock: the
        period is CMPRB's upper half + 1 (am_hal_ctimer_period_set)."""
        ctrl = self.reg(f"CTRL{timer}")
        clk_sel = (ctrl >> 17) & 0x1F
        src = {1: HFRC_HZ / 4, 2: HFRC_HZ / 16, 3: HFRC_HZ / 256, 4: HFRC_HZ / 1024}.get(clk_sel, 0)
        period = (self.reg(f"CMPRB{timer}") >> 16) + 1
        return src / period if src else 0.0
