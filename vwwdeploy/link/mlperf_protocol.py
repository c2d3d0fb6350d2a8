"""The MLPerf Tiny DUT protocol as text: command names, reply patterns and the parsing both ends share.

Facts (mlcommons/tiny `benchmark/api/internally_implemented.{h,cpp}`, runner `benchmark/runner/`):
commands are ASCII ending in `%` (no CR/LF), the DUT's command buffer holds 80 characters, every reply
ends with `m-ready`, errors are `e-[...]`, replies are split on `\\n` with `\\r` and NUL dropped.
"""

from __future__ import annotations

import re

TERMINATOR = "%"
CMD_BUFFER = 80  # characters the reference DUT keeps of one command (EE_CMD_SIZE)
READY = "m-ready"
INIT_DONE = "m-init-done"
BAUD = 115200  # performance and accuracy modes
DB_CHUNK_BYTES = 31  # bytes per `db <hex>` command the official runner sends
MAX_CHUNK_BYTES = 254  # vwwdeploy's firmware keeps 512-character commands; the reference DUT only 80 (38 bytes)
MODEL_VWW = "vww01"
VWW_INPUT_BYTES = 96 * 96 * 3
PERF_WINDOWS = 5  # tests_performance.yaml, vww01: loop 5: download, infer 20 5
PERF_ITERATIONS = 20
PERF_WARMUPS = 5
MIN_PERF_SECONDS = 10.0  # a performance run must last at least this long (runner error 2)

_NAME = re.compile(r"^m-name-dut-\[([^]]+)\]$")
_PROFILE = re.compile(r"^m-(profile|model)-\[([^]]+)\]$")
_LAP = re.compile(r"^m-lap-us-([0-9]+)$")
_RESULTS = re.compile(r"^m-results-\[([^]]*)\]$")
_ERROR = re.compile(r"^e-\[(.*)\]?$")


def clean_line(raw: bytes) -> str:
    """One received line as the official runner sees it: `\\r` and NUL dropped, undecodable bytes skipped."""
    return raw.replace(b"\r", b"").replace(b"\0", b"").decode("ascii", errors="ignore")


def db_commands(data: bytes, chunk: int = DB_CHUNK_BYTES) -> list[str]:
    """`db load N` then `db <hex>` commands carrying `data`, `chunk` bytes each."""
    if not 1 <= chunk <= MAX_CHUNK_BYTES:
        raise ValueError(f"a db chunk is 1..{MAX_CHUNK_BYTES} bytes, got {chunk}")
    cmds = [f"db load {len(data)}"]
    cmds += [f"db {data[i : i + chunk].hex()}" for i in range(0, len(data), chunk)]
    return cmds


def parse_name(lines: list[str]) -> str | None:
    for line in lines:
        if match := _NAME.match(line):
            return match.group(1)
    return None


def parse_profile(lines: list[str]) -> dict[str, str]:
    """{'profile': ..., 'model': ...} from the `profile` reply (keys present only when answered)."""
    out = {}
    for line in lines:
        if match := _PROFILE.match(line):
            out[match.group(1)] = match.group(2)
    return out


def parse_laps(lines: list[str]) -> list[int]:
    return [int(match.group(1)) for line in lines if (match := _LAP.match(line))]


def parse_results(lines: list[str]) -> list[float] | None:
    """The last `m-results-[p0,p1,]` vector (a trailing comma is allowed), None if absent or malformed."""
    found = None
    for line in lines:
        if match := _RESULTS.match(line):
            try:
                found = [float(x) for x in match.group(1).split(",") if x.strip()]
            except ValueError:
                found = None
    return found


def error_text(line: str) -> str | None:
    """The text of an `e-[...]` line, None for any other line."""
    if not line.startswith("e-"):
        return None
    match = _ERROR.match(line)
    text = match.group(1) if match else line[2:]
    return text.rstrip("]")
