"""GPIO (pad configuration under PADKEY, am_hal_gpio.c) and APBDMA's fast-GPIO BBINPUT: inputs come from the
camera model's pins when one is attached."""

from .peripheral import Peripheral

PADKEY = 0x73


class Gpio(Peripheral):
    NAME = "GPIO"
    PLAIN = (
        tuple(f"PADREG{c}" for c in "ABCDEFGHIJKLM")
        + tuple(f"CFG{c}" for c in "ABCDEFG")
        + tuple(f"ALTPADCFG{c}" for c in "ABCDEFGHIJKLM")
        + (
            "WTA",
            "WTB",
            "ENA",
            "ENB",
            "INT0EN",
            "INT1EN",
            "INT0STAT",
            "INT1STAT",
            "STMRCAP",
            "IOM0IRQ",
            "IOM1IRQ",
            "IOM2IRQ",
            "IOM3IRQ",
            "IOM4IRQ",
            "IOM5IRQ",
            "BLEIFIRQ",
            "GPIOOBS",
            "SCDET",
            "CTENCFG",
            "PADKEY",
        )
    )
    LOCKED = {"PADREG", "CFG", "ALTPADCFG"}

    def __init__(self, machine, **kw):
        super().__init__(machine, **kw)
        self.camera = None
        self.pin_reads: list[int] = []

    def write(self, off, value):
        name = next((n for n, o in self.offset_of.items() if o == off), "")
        if any(name.startswith(p) and name[len(p) :].isalpha() and len(name) - len(p) == 1 for p in self.LOCKED):
            if self.reg("PADKEY") != PADKEY:
                return  # pad registers ignore writes while PADKEY is locked (SVD: PADKEY)
        super().write(off, value)

    def write_PADKEY(self, v):
        self.set("PADKEY", PADKEY if v == PADKEY else 0)

    def read_PADKEY(self):
        return 1 if self.reg("PADKEY") == PADKEY else 0

    def _cam_bits(self) -> int:
        if self.camera is None:
            return 0
        vsync, hsync, pclk, data = self.camera.pins(self.machine.time_s())
        bits = (vsync << 15) | (hsync << 22) | (pclk << 23)
        lines = (24, 25, 26, 27, 28, 5, 6, 7)
        for i, pin in enumerate(lines):
            bits |= ((data >> i) & 1) << pin
        return bits

    def read_RDA(self):
        return self._cam_bits() | (self.reg("WTA") & self.reg("ENA"))

    def read_RDB(self):
        return 0

    def _set_clear(self, reg, v, on):
        self.set(reg, self.reg(reg) | v if on else self.reg(reg) & ~v)

    def write_WTSA(self, v):
        self._set_clear("WTA", v, True)

    def write_WTCA(self, v):
        self._set_clear("WTA", v, False)

    def write_WTSB(self, v):
        self._set_clear("WTB", v, True)

    def write_WTCB(self, v):
        self._set_clear("WTB", v, False)

    def write_ENSA(self, v):
        self._set_clear("ENA", v, True)

    def write_ENCA(self, v):
        self._set_clear("ENA", v, False)

    def write_ENSB(self, v):
        self._set_clear("ENB", v, True)

    def write_ENCB(self, v):
        self._set_clear("ENB", v, False)

    def write_INT0CLR(self, v):
        self.set("INT0STAT", self.reg("INT0STAT") & ~v)

    def write_INT1CLR(self, v):
        self.set("INT1STAT", self.reg("INT1STAT") & ~v)


class Apbdma(Peripheral):
    """Fast GPIO: BBINPUT holds the eight pins the firmware routed to it (the camera data lines)."""

    NAME = "APBDMA"
    PLAIN = ("BBVALUE", "BBSETCLEAR", "DEBUGDATA", "DEBUG")

    def read_BBINPUT(self):
        gpio = self.machine.peripherals[0x40010000]
        if gpio.camera is None:
            return 0
        return gpio.camera.pins(self.machine.time_s())[3]
