"""The Apollo3 peripherals the Edge firmware touches. Register names/offsets/resets from apollo3.svd; behaviour
from the HAL sources (mcu/apollo3/hal) named per class."""

from .peripheral import Peripheral


class Clkgen(Peripheral):
    NAME = "CLKGEN"
    SIZE = 0x200  # RTC follows at 0x40004200
    PLAIN = (
        "CALXT",
        "CALRC",
        "ACALCTR",
        "OCTRL",
        "CLKOUT",
        "CLKKEY",
        "CCTRL",
        "STATUS",
        "HFADJ",
        "CLOCKENSTAT",
        "CLOCKEN2STAT",
        "CLOCKEN3STAT",
        "FREQCTRL",
        "BLEBUCKTONADJ",
        "INTRPTEN",
        "INTRPTSTAT",
        "INTRPTCLR",
        "INTRPTSET",
    )

    def write_FREQCTRL(self, v: int) -> None:
        # BURSTREQ (bit 0): the core runs at 96 MHz from here on (am_hal_burst_mode_enable); 0 returns to 48 MHz
        self.set("FREQCTRL", v)
        self.machine.set_clock(96e6 if v & 1 else 48e6)

    def read_FREQCTRL(self) -> int:
        # am_hal_burst_mode_enable polls BURSTACK/BURSTSTATUS: answer at once
        v = self.reg("FREQCTRL")
        return (v & 1) | ((v & 1) << 1) | ((v & 1) << 2)


class Rtc(Peripheral):
    NAME = "RTC"
    SIZE = 0x100
    PLAIN = ("CTRLOW", "CTRUP", "ALMLOW", "ALMUP", "RTCCTL", "INTEN", "INTSTAT", "INTCLR", "INTSET")


class Pwrctrl(Peripheral):
    NAME = "PWRCTRL"
    PLAIN = (
        "SUPPLYSRC",
        "SUPPLYSTATUS",
        "DEVPWREN",
        "MEMPWDINSLEEP",
        "MEMPWREN",
        "MEMPWRSTATUS",
        "DEVPWRSTATUS",
        "SRAMCTRL",
        "ADCSTATUS",
        "MISC",
        "DEVPWREVENTEN",
        "MEMPWREVENTEN",
    )

    def write_DEVPWREN(self, v):
        self.set("DEVPWREN", v)
        # DEVPWRSTATUS bits per power domain (am_hal_pwrctrl.c's table); on at once
        self.set("DEVPWRSTATUS", 0xFFFFFFFF if v else 0)

    def write_MEMPWREN(self, v):
        self.set("MEMPWREN", v)
        self.set("MEMPWRSTATUS", v)

    def read_DEVPWRSTATUS(self):
        return 0xFFFFFFFF if self.reg("DEVPWREN") else self.reg("DEVPWRSTATUS")


class Mcuctrl(Peripheral):
    NAME = "MCUCTRL"
    PLAIN = (
        "CHIPPN",
        "CHIPID0",
        "CHIPID1",
        "CHIPREV",
        "VENDORID",
        "SKU",
        "FEATUREENABLE",
        "DEBUGGER",
        "BODCTRL",
        "ADCPWRDLY",
        "ADCCAL",
        "ADCBATTLOAD",
        "ADCTRIM",
        "ADCREFCOMP",
        "XTALCTRL",
        "XTALGENCTRL",
        "MISCCTRL",
        "BOOTLOADER",
        "SHADOWVALID",
        "SCRATCH0",
        "SCRATCH1",
        "ICODEFAULTADDR",
        "DCODEFAULTADDR",
        "SYSFAULTADDR",
        "FAULTSTATUS",
        "FAULTCAPTUREEN",
        "DBGR1",
        "DBGR2",
        "PMUENABLE",
        "TPIUCTRL",
        "OTAPOINTER",
        "APBDMACTRL",
        "SRAMMODE",
        "KEXTCLKSEL",
        "SIMOBUCK3",
        "SIMOBUCK4",
        "BLEBUCK2",
        "FLASHWPROT0",
        "FLASHWPROT1",
        "FLASHRPROT0",
        "FLASHRPROT1",
        "DMASRAMWRITEPROTECT0",
        "DMASRAMWRITEPROTECT1",
        "DMASRAMREADPROTECT0",
        "DMASRAMREADPROTECT1",
        "LDOREG1",
        "LDOREG3",
        "SIMOBUCK1",
        "SIMOBUCK2",
    )

    def __init__(self, machine, **kw):
        super().__init__(machine, **kw)
        # Apollo3 Blue rev B, burst and BLE features available (FEATUREENABLE *AVAIL bits, am_hal_burst_mode.c)
        self.set("CHIPPN", 0x0655_5000 | 0x000000C5)
        self.set("CHIPREV", 0x21)
        self.set("VENDORID", 0x414D4249)  # "AMBI"

    def write_FEATUREENABLE(self, v):
        # each *REQ bit is acknowledged and *AVAIL set: BLEREQ 0 -> BLEACK 1, BLEAVAIL 2; BURSTREQ 4 -> 5, 6
        out = v & 0x11
        for req in (0, 4):
            if v >> req & 1:
                out |= 3 << (req + 1)
        self.set("FEATUREENABLE", out)


class Cachectrl(Peripheral):
    NAME = "CACHECTRL"
    PLAIN = (
        "CACHECFG",
        "FLASHCFG",
        "CTRL",
        "NCR0START",
        "NCR0END",
        "NCR1START",
        "NCR1END",
        "CACHEMODE",
        "DMON0",
        "DMON1",
        "DMON2",
        "DMON3",
        "IMON0",
        "IMON1",
        "IMON2",
        "IMON3",
    )

    def read_CTRL(self):
        return self.reg("CTRL") | (1 << 2)  # CACHE_READY


class _Window:
    """RSTGEN's STAT sits 0x0FFFF000 above its block (SVD addressOffset): a one-page window onto it."""

    SIZE = 0x1000

    def __init__(self, target, offset):
        self.target, self.offset = target, offset
        self.regs = {}

    def read(self, off):
        return self.target.read(self.offset + off)

    def write(self, off, value):
        self.target.write(self.offset + off, value)


class Rstgen(Peripheral):
    NAME = "RSTGEN"
    PLAIN = ("CFG", "SWPOI", "SWPOR", "TPIURST", "INTEN", "INTSTAT", "INTCLR", "INTSET", "STAT", "CLRSTAT")

    def write_SWPOR(self, v):
        if v == 0xD4:
            self.machine.request_reset("RSTGEN.SWPOR")

    def write_SWPOI(self, v):
        if v == 0x1B:
            self.machine.request_reset("RSTGEN.SWPOI")


def attach_camera(machine, camera) -> None:
    """The HM01B0 model on IOM1 (I2C address 0x24, am_bsp_pins.h) and the pixel bus pins (GPIO/APBDMA)."""
    machine.peripherals[0x50005000].devices[camera.I2C_ADDRESS] = camera
    machine.peripherals[0x40010000].camera = camera
    machine.peripherals[0x40008000].mclk_listeners.append(camera.set_mclk_hz)


def attach_all(machine) -> None:
    from .gpio import Apbdma, Gpio
    from .iom import Iom
    from .timers import Ctimer
    from .uart import Uart

    for cls, base in (
        (Clkgen, 0x40004000),
        (Rtc, 0x40004200),
        (Pwrctrl, 0x40021000),
        (Mcuctrl, 0x40020000),
        (Cachectrl, 0x40018000),
        (Rstgen, 0x40000000),
        (Gpio, 0x40010000),
        (Apbdma, 0x40011000),
        (Ctimer, 0x40008000),
        (Uart, 0x4001C000),
    ):
        machine.add_peripheral(base, cls(machine))
    machine.add_peripheral(0x4FFFF000, _Window(machine.peripherals[0x40000000], 0x0FFFF000))
    for n in range(6):
        machine.add_peripheral(0x50004000 + 0x1000 * n, Iom(machine, n))
    machine.map_peripherals()
