"""Instructions per operator on the emulated board (builds made with `firmware build --board qemu --op-profile`).

Such a firmware prints, after every inference, one semihosting line per op (OpProfiler in
firmware/core/tflm_classifier.cc),
which QEMU writes to its log:  `vww-op <index> <OP_NAME> <instructions>` ... `vww-op-end <count>`.
`profile_inference()` runs one input through a running `Emulator` and returns the ops of that inference.
Instruction counts are exact to one timer tick (40 instructions) per op under `-icount shift=0`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from vwwdeploy.errors import DeviceError

_LINE = re.compile(r"^vww-op (\d+) (\S+) (\d+)\s*$")
_END = re.compile(r"^vww-op-end (\d+)\s*$")


@dataclass(frozen=True)
class OpCost:
    index: int
    op: str
    instructions: int


def parse_profiles(text: str) -> list[list[OpCost]]:
    """Every complete per-inference block in a QEMU log, oldest first."""
    blocks, current = [], []
    for line in text.splitlines():
        if m := _LINE.match(line):
            cost = OpCost(int(m.group(1)), m.group(2), int(m.group(3)))
            if cost.index != len(current):  # a block cut short (a reset, a lost line): start over
                current = []
            if cost.index == len(current):
                current.append(cost)
        elif m := _END.match(line):
            if len(current) == int(m.group(1)):
                blocks.append(current)
            current = []
    return blocks


def profile_inference(emu, device, x, timeout: float = 30.0) -> tuple[list[OpCost], object]:
    """Infer `x` on `device` (a Device on `emu.url`) and return (ops of that inference, the RESULT)."""
    before = len(parse_profiles(emu.log_path.read_text(errors="replace")))
    result = device.infer(x)
    deadline = time.monotonic() + timeout
    while True:
        blocks = parse_profiles(emu.log_path.read_text(errors="replace"))
        if len(blocks) > before:
            return blocks[before], result
        if time.monotonic() > deadline:
            raise DeviceError(
                f"no op profile in the QEMU log {emu.log_path} after the inference: "
                "is the firmware built with --op-profile?"
            )
        time.sleep(0.05)
