"""Reads tests/vectors/device/behaviour.txt (format: docs/protocol.md section 7) and compares replies to it.

The C++ command loop has its own reader (firmware/tests/test_device_vectors.cc); this one serves the
Python-side devices (the simulated board).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vwwdeploy.link.protocol.crc import crc32

BEHAVIOUR = Path(__file__).resolve().parent / "vectors" / "device" / "behaviour.txt"
LOG = 0x85  # LOG frames are informative: never part of what a device must send


@dataclass
class Reply:
    type: int
    seq: int
    payload: bytes | None  # None: compare length and CRC-32 only
    length: int
    crc: int
    mask: list[tuple[int, int | None]]

    def mismatch(self, type_: int, seq: int, payload: bytes) -> str | None:
        """Why the frame (type_, seq, payload) is not this reply, or None when it is."""
        if (type_, seq) != (self.type, self.seq):
            return f"got type 0x{type_:02x} seq {seq}, want type 0x{self.type:02x} seq {self.seq}"
        if self.payload is None:
            if (len(payload), crc32(payload)) != (self.length, self.crc):
                return f"payload {len(payload)} bytes crc {crc32(payload):08x}, want {self.length} {self.crc:08x}"
            return None
        open_end = any(end is None for _, end in self.mask)
        if len(payload) != len(self.payload) and not (open_end and len(payload) >= max(s for s, _ in self.mask)):
            return f"payload {len(payload)} bytes, want {len(self.payload)}"
        want, got = bytearray(self.payload), bytearray(payload)
        for start, end in sorted(self.mask, reverse=True):  # from the end: earlier offsets stay valid
            for buf in (want, got):
                del buf[start : len(buf) if end is None else end]
                buf[start:start] = b"\0"  # keep later offsets meaningful in the message
        if want != got:
            at = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
            return f"payload differs at byte {at} (masks {self.mask}): got {got[:64].hex()}, want {want[:64].hex()}"
        return None


@dataclass
class Step:
    kind: str  # boot | send | idle
    data: bytes = b""
    replies: list[Reply] = field(default_factory=list)


@dataclass
class Case:
    name: str
    device: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def shape(self) -> tuple[int, int, int]:
        h, w, c = (int(v) for v in self.device["input"].split("x"))
        return h, w, c


def _mask(text: str) -> list[tuple[int, int | None]]:
    out = []
    for part in text.split(","):
        start, end = part.split(":")
        out.append((int(start), int(end) if end else None))
    return out


def load(path: Path = BEHAVIOUR) -> list[Case]:
    cases: list[Case] = []
    case: Case | None = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        word, *rest = line.split(" ")
        if word == "case":
            case = Case(rest[0])
        elif word == "device":
            case.device = dict(item.split("=", 1) for item in rest)
        elif word in ("boot", "idle"):
            case.steps.append(Step(word))
        elif word == "send":
            case.steps.append(Step("send", bytes.fromhex(rest[0])))
        elif word == "reply":
            type_, seq, body = int(rest[0]), int(rest[1]), rest[2]
            mask = _mask(rest[3].removeprefix("mask=")) if len(rest) > 3 else []
            if body.startswith("crc:"):
                _, length, crc = body.split(":")
                case.steps[-1].replies.append(Reply(type_, seq, None, int(length), int(crc, 16), mask))
            else:
                payload = b"" if body == "-" else bytes.fromhex(body)
                case.steps[-1].replies.append(Reply(type_, seq, payload, len(payload), crc32(payload), mask))
        elif word == "end":
            cases.append(case)
            case = None
        else:
            raise ValueError(f"{path}:{number}: unknown record {word!r}")
    return cases
