"""`vwwdeploy doctor`: is this board healthy? Host checks of the link plus the board's own SELFTEST.

Each check is a `Row`: name, status (pass / fail / n/a), the figure measured and, for every failure, what
to do. The board's part comes from its REPORT (docs/protocol.md, "Self-test"); the host's part asks what
only the host can see: the port opens, the application (not a bootloader) answers at this baud, its
firmware and protocol version, the model it runs against `--model`, and the link's round trip and errors.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from vwwdeploy import __version__
from vwwdeploy.constants import DEFAULT_BAUD, FLASH_BAUDS
from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.link.protocol import messages as m

PASS, FAIL, NA = "pass", "fail", "n/a"
JSON_SCHEMA = 1  # bump when a field of `Diagnosis.as_json()` changes meaning
LINK_PINGS = 10  # HELLO round trips timed for the link check
DATA_GPIO = (24, 25, 26, 27, 28, 5, 6, 7)  # the Edge's D0..D7 pins (../shared/reference/sparkfun-edge.md)
C = m.CheckId


@dataclass(frozen=True)
class Row:
    check: str
    status: str  # pass | fail | n/a
    figure: str
    hint: str = ""  # what to do, for every failure
    source: str = "host"  # host | board
    measured: int | None = None
    expected: int | None = None


@dataclass
class Diagnosis:
    url: str
    rows: list[Row]

    @property
    def ok(self) -> bool:
        return all(r.status != FAIL for r in self.rows)

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if r.status == FAIL]

    def as_json(self) -> dict:
        return {
            "schema": JSON_SCHEMA,
            "port": self.url,
            "ok": self.ok,
            "failed": [r.check for r in self.failures],
            "checks": [asdict(r) for r in self.rows],
            "error": None,
        }


def unreachable_json(url: str, error: str) -> dict:
    """`--json` when no vwwdeploy board answers: the same shape, no checks, the one line in `error`."""
    return {"schema": JSON_SCHEMA, "port": url, "ok": False, "failed": ["connect"], "checks": [], "error": error}


# ------------------------------------------------------------------ the board's checks


def _n(v: int) -> str:
    return f"{v:,}"


def _mhz(hz: int) -> str:
    return f"{hz / 1e6:.3f} MHz"


def _line_verdict(c: m.Check, pixels: int) -> str:
    """Stuck low, stuck high or disagreeing, from how many walking-ones pixels mismatched. The pattern sets each
    line in 1 pixel of 9 (0x01 .. 0x80, 0x00), so a line stuck low is wrong in 1/9 of them, stuck high in 8/9."""
    if not pixels:
        return "wrong"
    share = c.measured / pixels
    if abs(share - 1 / 9) < 0.02:
        return "stuck low"
    if abs(share - 8 / 9) < 0.02:
        return "stuck high"
    return "wrong in some pixels"


def board_rows(report: m.SelftestReport) -> list[Row]:
    """One Row per CHECK of a REPORT, with a figure a person can read and a hint for every failure."""
    rows = []
    pixels = report.get(C.PATTERN_PIXELS).measured if report.get(C.PATTERN_PIXELS) else 0
    bad_lines = [c for c in report.checks if C.DATA_D0 <= c.id <= C.DATA_D7 and c.status == m.CheckStatus.FAIL]
    for c in report.checks:
        figure, hint = _figure_and_hint(c, pixels, bad_lines)
        status = {m.CheckStatus.PASS: PASS, m.CheckStatus.FAIL: FAIL}.get(c.status, NA)
        if status == NA:
            figure, hint = "not on this board", ""
        elif status == PASS:
            hint = ""
        rows.append(Row(c.name, status, figure, hint, "board", c.measured, c.expected))
    return rows


def _figure_and_hint(c: m.Check, pixels: int, bad_lines: list[m.Check]) -> tuple[str, str]:
    v, e = c.measured, c.expected
    reseat = "reseat the camera ribbon (contacts the right way round, latch closed)"
    if c.id == C.SENSOR_ID:
        if v == 0:
            return "no I2C answer", f"the HM01B0 does not answer on I2C: {reseat}; is it the HM01B0 camera module?"
        return f"0x{v:04X} (expected 0x{e:04X})", f"a sensor answers with ID 0x{v:04X}, not the HM01B0: wrong module"
    if c.id == C.PATTERN_PIXELS:
        return (
            f"{_n(v)} pixels compared (expected >= {_n(e)})",
            f"the test-pattern frame came short: the sensor sends no whole frame: {reseat}; see frame_rate",
        )
    if C.DATA_D0 <= c.id <= C.DATA_D7:
        k = c.id - C.DATA_D0
        if pixels == 0:
            return "not tested", "no test-pattern frame was read: see sensor_id and frame_rate"
        verdict = _line_verdict(c, pixels)
        figure = f"{_n(v)} of {_n(pixels)} pixels wrong" if v else "0 pixels wrong"
        others = [f"D{x.id - C.DATA_D0}" for x in bad_lines if x.id != c.id]
        if verdict == "wrong in some pixels" and len(others) == 1:
            return figure, f"D{k} and {others[0]} disagree with the pattern: lines swapped or bridged: {reseat}"
        return figure, f"D{k} (GPIO {DATA_GPIO[k]}) {verdict}: {reseat}, then check that line for a short or break"
    if c.id == C.FRAME_RATE:
        if v == 0:
            return "no frames", f"no VSYNC from the sensor (no frame starts): {reseat}; check MCLK on pin 13"
        slow = "frames come too slowly: check the sensor clock (MCLK)"
        return f"{v / 1000:.2f} fps (expected >= {e / 1000:.2f})", slow
    if c.id in (C.PIXELS_PER_LINE, C.LINES_PER_FRAME):
        what = "pixels per line" if c.id == C.PIXELS_PER_LINE else "lines per frame"
        return f"{v} (expected {e})", f"{v} {what}, not {e}: HSYNC/PCLK lost on the way: {reseat}"
    if c.id == C.EXPOSURE_CONVERGED:
        unsettled = "auto-exposure did not settle: give the camera light; see exposure_mean"
        return ("settled" if v else "did not settle"), unsettled
    if c.id == C.EXPOSURE_MEAN:
        figure = f"mean {v} (expected {e} ± {c.tolerance})"
        if v < e:
            return figure, "the picture is dark: uncover the lens and light the scene"
        return figure, "the picture is washed out: less light in front of the lens"
    if c.id == C.CORE_CLOCK:
        figure = f"{_mhz(v)} (expected {_mhz(e)} ± {_mhz(c.tolerance)})"
        if v == 0:
            return figure, "the clock could not be measured"
        return figure, f"the core runs at {_mhz(v)}, not {_mhz(e)}: this firmware's clock setup (burst mode) is wrong"
    if c.id == C.ARENA:
        if v == 0:
            return f"model not loaded (arena {_n(e)} B)", "the model did not initialise: regenerate and flash (codegen)"
        return f"{_n(v)} of {_n(e)} B", "the model needs more arena than reserved: vwwdeploy codegen --arena-margin"
    if c.id == C.STACK:
        return (
            f"{_n(v)} B used (limit {_n(e)} B)",
            "the stack is (nearly) overflowed: give the board a larger stack (its linker script)",
        )
    if c.id == C.HEAP:
        return f"{_n(v)} B in use", "the firmware allocates at run time: it should not"
    if c.id == C.MODEL_OUTPUT:
        figure = "bit-exact with the TFLM twin" if v == 0 else f"{v} output value(s) differ from the TFLM twin"
        return figure, (
            "the board's model output differs from what codegen's TFLM twin computed: reflash (a corrupt model "
            "in flash), or the kernels round differently (docs/emulation.md)"
        )
    rule = {0: "==", 1: ">=", 2: "<=", 3: "within"}.get(c.rule, f"rule {c.rule}")
    return f"{v} ({rule} {e})", "a check this vwwdeploy does not know failed: update vwwdeploy"


# ------------------------------------------------------------------ the host's checks


def _probe_bootloaders(url: str, baud: int) -> str | None:
    """Which bootloader, if any, answers on this port (the ASB at 921600/115200, the SVL's auto-baud)."""
    import serial

    from vwwdeploy.link.flashing import asb_protocol, svl_protocol
    from vwwdeploy.link.flashing.errors import Garbled, NoAnswer
    from vwwdeploy.link.port import open_port

    for rate in dict.fromkeys((baud, *FLASH_BAUDS)):
        try:
            port = open_port(url, rate)
        except DeviceError:
            return None
        try:
            try:
                asb_protocol.AsbSession(port).hello(timeout=0.5)
                return "asb"
            except (NoAnswer, Garbled):
                pass
            try:
                svl_protocol.handshake(port, timeout=0.3)
                return "svl"
            except (NoAnswer, Garbled):
                pass
        except (serial.SerialException, OSError):
            return None
        finally:
            port.close()
    return None


def _connect(url: str, baud: int, timeout: float):
    """(Device, info, baud it answered at) or a DeviceError with one line saying what answered instead."""
    from vwwdeploy.link import Device

    tried = []
    for rate in dict.fromkeys((baud, *FLASH_BAUDS)):
        dev = Device(url, baud=rate, timeout=timeout, retries=1)  # PortError: absent, busy, refused
        try:
            info = dev.hello()
            return dev, info, rate
        except DeviceError:
            garbage = dev.stats.garbage_bytes
            dev.close()
            tried.append((rate, garbage))
        if "://" in url:
            break  # sockets and ptys have no baud: one try says it all
    which = _probe_bootloaders(url, baud)
    if which == "asb":
        raise DeviceError(
            f"the Ambiq bootloader answered at {url}, not the vwwdeploy application (the board is in flash mode): "
            "tap RST without holding button 14"
        )
    if which == "svl":
        raise DeviceError(
            f"the SparkFun bootloader (SVL) answered at {url} but no application started after it: "
            "flash the firmware (vwwdeploy flash)"
        )
    if any(g for _, g in tried):
        raise DeviceError(
            f"{url} sends bytes that are not vwwdeploy frames at {', '.join(str(r) for r, _ in tried)} baud: "
            "another program or firmware on this port? (flash vwwdeploy's firmware, or pass the right --baud)"
        )
    raise DeviceError(
        f"no answer from {url} (tried {', '.join(str(r) for r, _ in tried)} baud): is the board powered, "
        "running vwwdeploy firmware, and is this its port?"
    )


def diagnose(
    url: str,
    model: str | Path | None = None,
    baud: int = DEFAULT_BAUD,
    timeout: float = 2.0,
    pings: int = LINK_PINGS,
    on_step=None,
) -> Diagnosis:
    """Run every check; DeviceError (one line) when nothing vwwdeploy answers (no board, wrong port, bootloader)."""
    step = on_step or (lambda text: None)
    model_sha = None
    if model is not None:
        path = Path(model)
        if not path.is_file():
            raise UserError(f"--model {path}: no such file")
        model_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    step("opening the port")
    dev, info, rate = _connect(url, baud, timeout)
    rows = [Row("port", PASS, url)]
    with dev:
        if rate == baud or "://" in url:
            rows.append(Row("baud", PASS, f"{rate}"))
        else:
            rows.append(Row("baud", FAIL, f"answers at {rate}, not {baud}", f"pass --baud {rate}"))
        rows.append(Row("application", PASS, f"{info.firmware_name} on {info.board} ({info.kernels} kernels)"))
        rows.append(_protocol_row(info))
        rows.append(_firmware_row(info))
        rows.append(_model_row(info, model_sha))
        step("timing the link")
        rows.append(_link_row(dev, pings))
        step("running the board's self-test")
        try:
            report = dev.selftest()
        except DeviceError as exc:
            if exc.code != m.ErrorCode.UNKNOWN_TYPE:
                raise
            rows.append(
                Row("selftest", FAIL, "not in this firmware", "rebuild and flash the firmware with this vwwdeploy")
            )
        else:
            rows += board_rows(report)
        rows.append(_errors_row(dev))
    return Diagnosis(url, rows)


def _protocol_row(info: m.DeviceInfo) -> Row:
    if info.protocol_version == m.PROTOCOL_VERSION:
        return Row("protocol", PASS, f"version {info.protocol_version}", measured=info.protocol_version)
    return Row(
        "protocol",
        FAIL,
        f"version {info.protocol_version} (host speaks {m.PROTOCOL_VERSION})",
        "rebuild and flash the firmware with this vwwdeploy",
        measured=info.protocol_version,
        expected=m.PROTOCOL_VERSION,
    )


def _firmware_row(info: m.DeviceInfo) -> Row:
    board_major = info.firmware_version.split(".")[0]
    host_major = __version__.split(".")[0]
    figure = f"{info.firmware_version} (host {__version__})"
    if board_major == host_major:
        return Row("firmware", PASS, figure)
    return Row("firmware", FAIL, figure, "rebuild and flash the firmware with this vwwdeploy (major versions differ)")


def _model_row(info: m.DeviceInfo, model_sha: str | None) -> Row:
    board = info.model_sha256
    if model_sha is None:
        return Row("model", NA, f"sha256 {board[:12]}... (no --model to compare)")
    if board == model_sha:
        return Row("model", PASS, f"sha256 {board[:12]}... matches --model")
    return Row(
        "model",
        FAIL,
        f"board {board[:12]}..., --model {model_sha[:12]}...",
        "the board runs another model: vwwdeploy firmware build --model M.tflite, then vwwdeploy flash",
    )


def _link_row(dev, pings: int) -> Row:
    times = []
    for _ in range(pings):
        t0 = time.perf_counter()
        dev.hello()
        times.append(time.perf_counter() - t0)
    times.sort()
    median_ms = times[len(times) // 2] * 1000
    return Row("link", PASS, f"HELLO round trip {median_ms:.1f} ms (median of {pings})")


def _errors_row(dev) -> Row:
    s = dev.stats
    errors = {
        "retries": s.retries,
        "timeouts": s.timeouts,
        "CRC errors": s.crc_errors,
        "garbage bytes": s.garbage_bytes,
        "resets": s.resets,
    }
    bad = {k: v for k, v in errors.items() if v}
    figure = f"{s.requests} requests, " + (", ".join(f"{v} {k}" for k, v in bad.items()) if bad else "no errors")
    if not bad:
        return Row("link_errors", PASS, figure, measured=0, expected=0)
    hint = (
        "the board reset during the checks: watch its power (USB cable, supply) and look for a crash at boot"
        if s.resets
        else "the line loses or garbles bytes: a shorter or better USB cable, a common ground, or a lower --baud"
    )
    return Row("link_errors", FAIL, figure, hint, measured=sum(bad.values()), expected=0)


# ------------------------------------------------------------------ output


def table(d: Diagnosis) -> str:
    """The report as an aligned text table (check, status, figure), each failure's hint on the line below."""
    width = max(len(r.check) for r in d.rows)
    fig = max(len(r.figure) for r in d.rows)
    lines = [f"{'check':<{width}}  {'status':<6}  figure", f"{'-' * width}  {'-' * 6}  {'-' * min(fig, 60)}"]
    for r in d.rows:
        lines.append(f"{r.check:<{width}}  {r.status.upper() if r.status == FAIL else r.status:<6}  {r.figure}")
        if r.status == FAIL and r.hint:
            lines.append(f"{'':<{width}}  {'':<6}  -> {r.hint}")
    n_fail = len(d.failures)
    lines.append("")
    lines.append(
        f"{d.url}: all {len(d.rows)} checks pass"
        if d.ok
        else f"{d.url}: {n_fail} of {len(d.rows)} checks FAIL: {', '.join(r.check for r in d.failures)}"
    )
    return "\n".join(lines)
