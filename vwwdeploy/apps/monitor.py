"""`vwwdeploy monitor`: the board's camera, live. STREAM results in the terminal (label, score,
latency, fps), optionally every frame kept as a PNG named after its scores plus a CSV row."""

from __future__ import annotations

import csv
import io
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vwwdeploy.constants import DEFAULT_BAUD
from vwwdeploy.errors import UserError

CSV_NAME = "frames.csv"
CSV_COLUMNS = ["index", "time_s", "file", "raw_file", "label", "score", "scores", "latency_us", "instructions", "fps"]


@dataclass
class Reading:
    index: int
    time_s: float  # host clock, since the stream started
    label: str
    score: float  # dequantized score of the predicted label
    scores: np.ndarray  # raw int8
    latency_us: int
    instructions: int
    fps: float | None  # frames per second arriving at the host (smoothed)

    def line(self) -> str:
        fps = "   -  " if self.fps is None else f"{self.fps:6.2f}"
        raw = " ".join(f"{int(v):4d}" for v in self.scores)
        return (
            f"frame {self.index:6d}  {self.label:>12s} {self.score:5.3f}  [{raw}]  "
            f"latency {self.latency_us / 1000:8.1f} ms  fps {fps}"
        )


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in label) or "class"


class FrameSaver:
    """Each frame as PNG (written via a temporary name, so a Ctrl-C never leaves a truncated one) and a CSV
    row, flushed per frame so the CSV always describes the PNGs on disk."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise UserError(f"{self.folder} exists and is not a directory (--save)")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = self.folder / f".write-test-{id(self)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise UserError(f"cannot write to {self.folder}: {exc.strerror}") from None
        path = self.folder / CSV_NAME
        new = not path.exists() or path.stat().st_size == 0
        self._fh = open(path, "a", newline="", encoding="utf-8")
        self._csv = csv.writer(self._fh, lineterminator="\n")
        if new:
            self._csv.writerow(CSV_COLUMNS)
            self._fh.flush()
        self._stamp = time.strftime("%Y%m%d-%H%M%S")

    def _png(self, name: str, pixels: np.ndarray) -> str:
        from PIL import Image

        from vwwdeploy.atomic import atomic_write_bytes

        buf = io.BytesIO()
        arr = np.asarray(pixels, dtype=np.uint8)
        Image.fromarray(arr[:, :, 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr).save(buf, format="PNG")
        atomic_write_bytes(self.folder / name, buf.getvalue())
        return name

    def save(self, reading: Reading, frame: np.ndarray, raw: np.ndarray | None) -> None:
        base = f"{self._stamp}_{reading.index:06d}_{_safe(reading.label)}_{reading.score:.3f}"
        written: list[str] = []
        row_written = False
        try:
            written.append(self._png(base + ".png", frame))
            raw_file = ""
            if raw is not None:
                raw_file = self._png(base + "_raw.png", raw)
                written.append(raw_file)
            self._csv.writerow(
                [
                    reading.index,
                    f"{reading.time_s:.4f}",
                    written[0],
                    raw_file,
                    reading.label,
                    f"{reading.score:.6f}",
                    " ".join(str(int(v)) for v in reading.scores),
                    reading.latency_us,
                    reading.instructions,
                    "" if reading.fps is None else f"{reading.fps:.3f}",
                ]
            )
            row_written = True
            self._fh.flush()
        except KeyboardInterrupt:
            # Ctrl-C mid-frame: drop that frame's PNGs unless its row is in, so the CSV lists exactly the PNGs.
            if not row_written:
                for name in written:
                    (self.folder / name).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        self._fh.close()


def readings(dev, info, count: int = 0, raw: bool = False, max_fps: int = 0):
    """(Reading, capture) for each streamed frame; fps is smoothed over the last frames' arrival times."""
    labels = list(info.labels) or [f"class{i}" for i in range(int(np.prod(info.output.shape)))]
    scale, zp = info.output.scale, info.output.zero_point
    start = last = time.perf_counter()
    fps = None
    for index, cap in enumerate(dev.stream(raw=raw, max_fps=max_fps, count=count)):
        now = time.perf_counter()
        if index > 0 and now > last:
            inst = 1.0 / (now - last)
            fps = inst if fps is None else 0.8 * fps + 0.2 * inst
        last = now
        res = cap.result
        if res is None:
            scores = np.zeros(0, dtype=np.int8)
            label, score, latency, instr = "-", float("nan"), 0, 0
        else:
            scores = np.asarray(res.scores).astype(np.int8).reshape(-1)
            top = int(scores.argmax())
            label = labels[top] if top < len(labels) else f"class{top}"
            score = float((int(scores[top]) - zp) * scale)
            latency, instr = int(res.latency_us), int(res.instructions)
        yield Reading(index, now - start, label, score, scores, latency, instr, fps), cap


def monitor(
    port: str,
    count: int = 0,
    save: Path | None = None,
    raw: bool = False,
    baud: int = DEFAULT_BAUD,
    max_fps: int = 0,
    out=None,
    live: bool | None = None,
) -> int:
    """Stream until `count` frames (0: until Ctrl-C); returns the number of frames shown."""
    from vwwdeploy.link.client import Device

    out = out or sys.stdout
    if count < 0:
        raise UserError(f"--count must be 0 (until Ctrl-C) or more, not {count}")
    if save is not None:
        from vwwdeploy.atomic import check_writable_dir

        check_writable_dir(Path(save))  # fail before touching the board; the folder appears once it answers
    saver = None
    shown = 0
    try:
        with Device(port, baud=baud) as dev:
            info = dev.hello()
            saver = FrameSaver(save) if save is not None else None
            header = (
                f"{info.board} ({info.firmware_name} {info.firmware_version}, {info.kernels} kernels) on {port}; "
                f"model sha256 {info.model_sha256[:16]}..."
            )
            if live is None:
                live = hasattr(out, "isatty") and out.isatty()
            stream = readings(dev, info, count=count, raw=raw, max_fps=max_fps)
            try:
                if live:
                    shown = _live(stream, header, saver, out)
                else:
                    print(header, file=out, flush=True)
                    for reading, cap in stream:
                        if saver:
                            saver.save(reading, cap.frame, cap.raw)
                        print(reading.line(), file=out, flush=True)
                        shown += 1
            except KeyboardInterrupt:
                pass  # leaving the stream's generator sends STREAM_STOP
            finally:
                stream.close()
    finally:
        if saver:
            saver.close()
    return shown


def _live(stream, header: str, saver, out) -> int:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    console = Console(file=out)
    shown = 0
    recent: list[Reading] = []

    def table() -> Table:
        t = Table(title=header, expand=False)
        for col in ("frame", "label", "score", "raw scores", "latency ms", "fps"):
            t.add_column(col, justify="right")
        for r in recent[-12:]:
            t.add_row(
                str(r.index),
                r.label,
                f"{r.score:.3f}",
                " ".join(str(int(v)) for v in r.scores),
                f"{r.latency_us / 1000:.1f}",
                "-" if r.fps is None else f"{r.fps:.2f}",
            )
        return t

    with Live(table(), console=console, refresh_per_second=8) as live:
        for reading, cap in stream:
            if saver:
                saver.save(reading, cap.frame, cap.raw)
            recent.append(reading)
            del recent[:-12]
            live.update(table())
            shown += 1
    return shown
