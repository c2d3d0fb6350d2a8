"""UART0's RX pad (49, am_bsp_pins.h / the SVL's BL_RX_PAD) as a wire: while the pad is muxed to UART0RX
(PADREGM FNSEL 0) the host's bytes go to the UART's FIFO; while it is a GPIO (FNSEL 3, the reset value) each byte
is a waveform at `baud` (start bit, eight data bits LSB first, stop bit; idle high) and its edges raise the pad's
GPIO interrupt as CFGG's INCFG/INTD select, at the emulated time they happen. This is how the SVL's auto-baud sees
the host's 'U': it timestamps five rising edges with STIMER in its GPIO interrupt.

The bytes are consumed either way, as on a board: what arrives while the UART is not on the pad is lost to it."""

from __future__ import annotations

from collections import deque

PAD = 49
UART0RX_FNSEL = 0
GPIO_IRQ = 13  # GPIO_IRQn, apollo3.h
BIT = 1 << (PAD - 32)  # in INT1EN / INT1STAT


def rising_edges(byte: int) -> list[int]:
    """Bit positions (0 = start bit) where the 8N1 waveform of `byte` goes from low to high."""
    bits = [0] + [(byte >> i) & 1 for i in range(8)] + [1]
    return [i for i in range(1, 10) if bits[i] and not bits[i - 1]]


def falling_edges(byte: int) -> list[int]:
    bits = [1, 0] + [(byte >> i) & 1 for i in range(8)] + [1]  # the idle line before the start bit, then the frame
    return [i - 1 for i in range(1, 11) if bits[i - 1] and not bits[i]]


class RxPin:
    """An event device (Machine.events) between the host's byte stream and UART0 / GPIO pad 49."""

    def __init__(self, machine, baud: int):
        self.machine, self.baud = machine, baud
        self.uart = machine.peripherals[0x4001C000]
        self.gpio = machine.peripherals[0x40010000]
        self.edges: deque[float] = deque()  # emulated times of pending edges that interrupt
        self.line_free = 0.0  # emulated time the last byte's stop bit ends
        self.uart.rx_gate = self.on_uart
        machine.events.append(self)

    def on_uart(self) -> bool:
        padreg = self.gpio.reg("PADREGM")
        return ((padreg >> (8 * (PAD - 48) + 3)) & 7) == UART0RX_FNSEL

    def _edge_kind(self) -> str | None:
        cfg = (self.gpio.reg("CFGG") >> (4 * (PAD - 48))) & 0xF
        incfg, intd = cfg & 1, (cfg >> 3) & 1
        return {(0, 0): "rise", (0, 1): "fall", (1, 1): "both"}.get((incfg, intd))

    def tick(self, m):
        now = m.time_s()
        if self.uart.host_rx and not self.on_uart():
            kind = self._edge_kind()
            bit = 1.0 / self.baud
            t = max(now, self.line_free)
            while self.uart.host_rx:
                byte = self.uart.host_rx.popleft()
                positions = []
                if kind in ("rise", "both"):
                    positions += rising_edges(byte)
                if kind in ("fall", "both"):
                    positions += falling_edges(byte)
                self.edges.extend(t + p * bit for p in sorted(positions))
                t += 10 * bit
            self.line_free = t
        while self.edges and self.edges[0] <= now:
            self.edges.popleft()
            self.gpio.set("INT1STAT", self.gpio.reg("INT1STAT") | BIT)
            if self.gpio.reg("INT1EN") & BIT:
                m.set_pending(GPIO_IRQ)
        if not self.edges:
            return None
        return m.cycles + max(1, int((self.edges[0] - now) * m.clock_hz))
