"""IOM as I2C master (am_hal_iom.c, blocking transfers through the FIFO). A write/read command goes to the
device at the command's address (the camera model at 0x24); no device answers NAK."""

from .peripheral import Peripheral


class Iom(Peripheral):
    NAME = "IOM0"
    PLAIN = (
        "FIFOTHR",
        "FIFOCTRL",
        "INTEN",
        "INTSTAT",
        "CLKCFG",
        "SUBMODCTRL",
        "DCX",
        "OFFSETHI",
        "DMATRIGEN",
        "DMATRIGSTAT",
        "DMACFG",
        "DMATOTCOUNT",
        "DMATARGADDR",
        "DMASTAT",
        "CQCFG",
        "CQADDR",
        "CQSTAT",
        "CQFLAGS",
        "CQPAUSEEN",
        "CQCURIDX",
        "CQENDIDX",
        "STATUS",
        "MSPICFG",
        "MI2CCFG",
        "DEVCFG",
        "IOMDBG",
        "FIFOLOC",
        "CMDSTAT",
    )

    def __init__(self, machine, n: int):
        super().__init__(machine, svd_name="IOM0")
        self.n = n
        self.tx: list[int] = []
        self.rx: list[int] = []

    def write_INTCLR(self, v):
        self.set("INTSTAT", self.reg("INTSTAT") & ~v)

    def write_INTSET(self, v):
        self.set("INTSTAT", self.reg("INTSTAT") | v)

    def write_FIFOPUSH(self, v):
        self.tx.extend(v.to_bytes(4, "little"))

    def read_FIFOPOP(self):
        word = bytes((self.rx + [0, 0, 0, 0])[:4])
        self.rx = self.rx[4:]
        return int.from_bytes(word, "little")

    def read_FIFOPTR(self):
        return min(len(self.tx), 32) | (32 - min(len(self.tx), 32)) << 8 | min(len(self.rx), 32) << 16

    def write_CMD(self, v):
        self.set("CMD", v)
        raise NotImplementedError("IOM I2C commands: the camera model is not attached yet")
