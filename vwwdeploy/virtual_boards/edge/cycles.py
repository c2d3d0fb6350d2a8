"""Cycle estimate of a basic block from Cortex-M4 TRM instruction timings (no flash wait states, cache or bus
stalls): 1 per data-processing instruction, 2 per load/store (+1 per extra register), 2-3 per taken branch,
2-12 for divides (taken as 7), 1 for multiplies and the DSP/SIMD instructions, 1 per VFP arithmetic op (14 for
VDIV/VSQRT)."""

from functools import lru_cache

CONDITIONS = {"eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le"}


@lru_cache(maxsize=1)
def _disassembler():
    from capstone import CS_ARCH_ARM, CS_MODE_MCLASS, CS_MODE_THUMB, Cs

    return Cs(CS_ARCH_ARM, CS_MODE_THUMB | CS_MODE_MCLASS)


def instruction_cycles(mnemonic: str, op_str: str) -> int:
    m = mnemonic.split(".")[0]
    if m in ("sdiv", "udiv"):
        return 7
    if m in ("vdiv", "vsqrt"):
        return 14
    if m.startswith(("ldm", "stm", "push", "pop", "vpush", "vpop", "vldm", "vstm")):
        return 1 + max(1, op_str.count(",") + 1)
    if m.startswith(("ldr", "str", "vldr", "vstr", "ldrex", "strex")):
        return 2
    if m in ("b", "bl", "blx", "bx", "cbz", "cbnz", "tbb", "tbh") or (m.startswith("b") and m[1:] in CONDITIONS):
        return 3  # taken: 1 + pipeline refill (not-taken conditional branches, 1 cycle, are counted as taken)
    return 1


def block_cycles(code: bytes, address: int) -> int:
    total = 0
    for ins in _disassembler().disasm(bytes(code), address):
        total += instruction_cycles(ins.mnemonic, ins.op_str)
    return max(total, 1)
