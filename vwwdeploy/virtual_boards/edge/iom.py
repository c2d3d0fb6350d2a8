"""IOM as I2C master (am_hal_iom.c, blocking transfers through the FIFO). A write/read command goes to the
device at the command's address (the camera model at 0x24); no device answers NAK."""

from .peripheral import Peripheral

FIFO = 32  # bytes per direction
IDLEST = 1 << 2
CMDCMP, NAK = 1 << 0, 1 << 4


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
        self.devices: dict[int, object] = {}  # 7-bit I2C address -> model with i2c_write / i2c_read
        self._pending_write: tuple[object, list[int], int] | None = None

    def write_INTCLR(self, v):
        self.set("INTSTAT", self.reg("INTSTAT") & ~v)

    def write_INTSET(self, v):
        self.set("INTSTAT", self.reg("INTSTAT") | v)

    def read_STATUS(self):
        return IDLEST  # transfers complete at once: idle, no command active

    def write_FIFOPUSH(self, v):
        self.tx.extend(v.to_bytes(4, "little"))
        self._finish_write()

    def read_FIFOPOP(self):
        word = bytes((self.rx + [0, 0, 0, 0])[:4])
        self.rx = self.rx[4:]
        return int.from_bytes(word, "little")

    def write_FIFOPOP(self, v):
        pass  # the HAL's FIFO-pop write (FIFOCTRL.POPWR mode), ignored: reads pop here

    def read_FIFOPTR(self):
        tx, rx = min(len(self.tx), FIFO), min(len(self.rx), FIFO)
        return tx | (FIFO - tx) << 8 | rx << 16 | (FIFO - rx) << 24

    def write_CMD(self, v):
        """am_hal_iom.c build_cmd: CMD 1 = write, 2 = read; TSIZE bytes; OFFSETCNT offset bytes sent first,
        the high ones from OFFSETHI, the low one in CMD.OFFSETLO."""
        self.set("CMD", v)
        cmd, size, count, low = v & 0xF, (v >> 8) & 0xFFF, (v >> 5) & 3, (v >> 24) & 0xFF
        high = self.reg("OFFSETHI")
        offset = ([(high >> 8) & 0xFF, high & 0xFF, low][3 - count :]) if count else []
        device = self.devices.get(self.reg("DEVCFG") & 0x7F)
        status = CMDCMP
        if cmd == 1:
            self._pending_write = (device, offset, size)
            self._finish_write()
            return
        if cmd == 2:
            data = None
            if device is not None and (not offset or device.i2c_write(bytes(offset))):
                data = device.i2c_read(size)
            if data is None:
                status |= NAK
            else:
                self.rx.extend(data)
        self.set("INTSTAT", self.reg("INTSTAT") | status)

    def _finish_write(self):
        if self._pending_write is None:
            return
        device, offset, size = self._pending_write
        if len(self.tx) < size:
            return
        payload, self.tx = bytes(offset + self.tx[:size]), []
        self._pending_write = None
        ok = device is not None and device.i2c_write(payload)
        self.set("INTSTAT", self.reg("INTSTAT") | CMDCMP | (0 if ok else NAK))
