"""A memory-mapped peripheral: registers by offset, each either plain storage or a read/write handler.

A register the class does not name stops the run (UnmodelledAccess): nothing reads as a silent 0."""

from . import svd


class UnmodelledAccess(Exception):
    def __init__(self, kind: str, address: int, value: int | None = None):
        self.kind, self.address, self.value = kind, address, value
        what = f"{kind} 0x{address:08X} ({svd.name_of(address)})"
        super().__init__(what + (f" value 0x{value:08X}" if value is not None else ""))


class Peripheral:
    """Subclasses set NAME (the SVD peripheral), PLAIN (registers that only hold what was written) and define
    `read_<REG>(self) -> int` / `write_<REG>(self, value)` for registers with behaviour."""

    NAME = ""
    SIZE = 0x1000
    PLAIN: tuple[str, ...] = ()

    def __init__(self, machine, base: int | None = None, svd_name: str | None = None):
        self.machine = machine
        regs = svd.offsets(svd_name or self.NAME)
        self.base = base
        self.regs: dict[int, int] = {}
        self._read: dict[int, object] = {}
        self._write: dict[int, object] = {}
        for name, (off, reset) in regs.items():
            if name in self.PLAIN:
                self.regs[off] = reset
            r, w = getattr(self, "read_" + name, None), getattr(self, "write_" + name, None)
            if r or w:
                self.regs.setdefault(off, reset)
            if r:
                self._read[off] = r
            if w:
                self._write[off] = w
        self.offset_of = {name: off for name, (off, _) in regs.items()}
        self.touched: set[int] = set()

    def reg(self, name: str) -> int:
        return self.regs[self.offset_of[name]]

    def set(self, name: str, value: int) -> None:
        self.regs[self.offset_of[name]] = value & 0xFFFFFFFF

    def read(self, off: int) -> int:
        self.touched.add(off)
        handler = self._read.get(off)
        if handler:
            return handler() & 0xFFFFFFFF
        if off in self.regs:
            return self.regs[off]
        raise UnmodelledAccess("read", self.base + off)

    def write(self, off: int, value: int) -> None:
        self.touched.add(off)
        handler = self._write.get(off)
        if handler:
            handler(value)
        elif off in self.regs:
            self.regs[off] = value & 0xFFFFFFFF
        else:
            raise UnmodelledAccess("write", self.base + off, value)
