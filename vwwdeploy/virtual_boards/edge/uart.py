"""UART0 (a PL011 as the Apollo3 has it; am_hal_uart.c's buffered mode): RX FIFO of 32 bytes fed from the host
(one byte while LCRH.FEN is clear, as the SVL runs it), TX bytes sent to the host at once (so the TX FIFO is always
empty), raw interrupt status in IES."""

from collections import deque

from .peripheral import Peripheral

UART0_IRQ = 15
RXIM, TXIM, RTIM = 1 << 4, 1 << 5, 1 << 6
FEN = 1 << 4  # LCRH: FIFO enable
FIFO = 32


class Uart(Peripheral):
    NAME = "UART0"
    PLAIN = ("RSR", "ILPR", "IBRD", "FBRD", "LCRH", "CR", "IFLS", "IER")

    def __init__(self, machine, **kw):
        super().__init__(machine, **kw)
        self.rx = deque()
        self.host_rx = deque()  # bytes from the host not yet in the FIFO (filled by the serving thread)
        self.ris = 0
        self.tx_sink = lambda data: None
        self.rx_gate = lambda: True  # whether the RX pad is on the UART (rx_pin.RxPin decides it for the SVL)
        machine.events.append(self)

    def _fifo_on(self) -> bool:
        return bool(self.reg("LCRH") & FEN)

    def tick(self, m):
        depth = FIFO if self._fifo_on() else 1
        if self.host_rx and len(self.rx) < depth and self.rx_gate():
            while self.host_rx and len(self.rx) < depth:
                self.rx.append(self.host_rx.popleft())
            level = (self.reg("IFLS") >> 3) & 7
            # without the FIFO (LCRH.FEN 0, as the SVL runs it) every byte is a receive interrupt
            if depth == 1 or len(self.rx) >= (4, 8, 16, 24, 28)[min(level, 4)]:
                self.ris |= RXIM
            self.ris |= RTIM
            self._update()
        return None

    def _update(self):
        if self.ris & self.reg("IER"):
            self.machine.set_pending(UART0_IRQ)

    def read_DR(self):
        if not self.rx:
            return 0
        b = self.rx.popleft()
        if not self.rx:
            self.ris &= ~(RXIM | RTIM)
            if not self._fifo_on():
                # the host's next byte is already on the wire (the model has no line rate): it lands at once
                self.tick(self.machine)
        return b

    def write_DR(self, v):
        self.tx_sink(bytes([v & 0xFF]))
        self.ris |= TXIM
        self._update()

    def read_FR(self):
        fr = 1 << 7  # TXFE
        if not self.rx:
            fr |= 1 << 4  # RXFE
        if len(self.rx) >= (FIFO if self._fifo_on() else 1):
            fr |= 1 << 6  # RXFF
        return fr

    def read_IES(self):
        return self.ris

    def write_IES(self, v):
        self.ris |= v
        self._update()

    def read_MIS(self):
        return self.ris & self.reg("IER")

    def write_IEC(self, v):
        self.ris &= ~v
        if not (self.ris & self.reg("IER")):
            self.machine.system.pending &= ~(1 << UART0_IRQ)

    def write_IER(self, v):
        self.set("IER", v)
        self._update()
