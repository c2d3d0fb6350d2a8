"""The host runner: the MLPerf Tiny performance and accuracy flows over the DUT protocol only, so it drives
any MLPerf Tiny board (ours, the reference DUT, another vendor's).

Timeouts. A command's reply must start within `timeout` (a board that heard the command answers at once).
An `infer N W` may then take as long as N + W inferences: the first one (on the first file) is allowed
`infer_timeout`, every later one 3x the measured wall time per inference plus `2 * timeout`. Wall time is
what the host waits for; the board's own timer is not used for that, because under an emulator it is
virtual time and the emulated UART is slower than its nominal baud.

Retries. A timeout, an `e-[...]` answer, a reboot (`m-init-done`) or a malformed reply fails the current
step (download + infer); the link is recovered and the step restarts from `db load`, up to `retries`
times, then the run ends with one line naming the command and the last problem.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vwwdeploy.apps.mlperf import metrics
from vwwdeploy.apps.mlperf.dataset import AccuracyFile
from vwwdeploy.apps.validation import metrics as validation_metrics
from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.link import mlperf_protocol as p
from vwwdeploy.link.mlperf_dut import DutErrorReply, DutReset, DutTimeout, MlperfLink

# model string -> (performance iterations, warm-ups, input bytes or None): tests_performance.yaml
TESTS = {"vww01": (20, 5, p.VWW_INPUT_BYTES), "ic01": (20, 5, 32 * 32 * 3), "kws01": (70, 10, None)}


class BadReply(DeviceError):
    pass


@dataclass
class RunSettings:
    timeout: float = 5.0
    infer_timeout: float = 600.0
    retries: int = 3
    chunk: int = p.DB_CHUNK_BYTES
    min_seconds: float = p.MIN_PERF_SECONDS
    windows: int = p.PERF_WINDOWS
    iterations: int | None = None  # None: the test's own (vww01: 20)
    warmups: int | None = None


class Runner:
    def __init__(self, link: MlperfLink, settings: RunSettings | None = None, progress: Callable | None = None):
        self.link = link
        self.settings = settings or RunSettings()
        self.progress = progress or (lambda: None)
        self.per_inference_s: float | None = None
        self.retried_steps = 0

    # ------------------------------------------------------------ steps

    def _attempts(self, what: str, fn, recover_timeout: Callable[[], float] | None = None):
        attempts = 1 + max(0, self.settings.retries)
        for attempt in range(attempts):
            try:
                return fn()
            except (DutTimeout, DutReset, DutErrorReply, BadReply) as exc:
                self.link.stats.note(f"{what}: {exc}")
                if attempt == attempts - 1:
                    raise DeviceError(f"{what} failed {attempts} times; last: {exc}") from None
                self.retried_steps += 1
                self.link.recover(recover_timeout() if recover_timeout else None)

    def identify(self) -> dict:
        def name():
            lines = self.link.command("name")
            found = p.parse_name(lines)
            if found is None:
                raise BadReply(f"no m-name-dut-[...] in the answer to `name`: {lines}")
            return found

        def profile():
            found = p.parse_profile(self.link.command("profile"))
            if "model" not in found:
                raise BadReply("no m-model-[...] in the answer to `profile`")
            return found

        self.link.drain(quiet=0.3, limit=self.settings.timeout)  # a boot banner or old replies
        dut = {"name": self._attempts("`name`", name)}
        dut.update(self._attempts("`profile`", profile))
        return dut

    def _infer_timeout(self, count: int) -> float:
        if self.per_inference_s is None:
            return self.settings.infer_timeout
        return 3 * count * self.per_inference_s + 2 * self.settings.timeout

    def _download(self, data: bytes) -> None:
        lines: list[str] = []
        for cmd in p.db_commands(data, self.settings.chunk):
            lines = self.link.command(cmd)
        if not any(line.startswith("m-load-done") for line in lines):
            raise BadReply(f"no m-load-done after {len(data)} bytes (the board got {lines})")

    def _infer(self, n: int, w: int) -> dict:
        command = f"infer {n} {w}"
        start = time.monotonic()
        lines = self.link.command(command, timeout=self._infer_timeout(n + w), first_line_timeout=self.settings.timeout)
        wall = time.monotonic() - start
        laps, results = p.parse_laps(lines), p.parse_results(lines)
        if len(laps) != 2 or results is None or "m-infer-done" not in lines:
            raise BadReply(f"`{command}` answered without two m-lap-us, m-infer-done and m-results: {lines[-4:]}")
        self.per_inference_s = max(self.per_inference_s or 0.0, wall / (n + w))
        return {"start_us": laps[0], "end_us": laps[1], "results": results, "wall_s": wall}

    def step(self, data: bytes, n: int, w: int, what: str) -> dict:
        def once():
            self._download(data)
            return self._infer(n, w)

        return self._attempts(what, once, recover_timeout=lambda: self._infer_timeout(n + w))

    # ------------------------------------------------------------ flows

    def _test_params(self, model: str) -> tuple[int, int]:
        if model not in TESTS:
            raise UserError(f"the board runs the `{model}` benchmark; vwwdeploy mlperf knows {', '.join(TESTS)}")
        n, w, _ = TESTS[model]
        s = self.settings
        return (s.iterations or n), (w if s.warmups is None else s.warmups)

    def performance(self, files: list[AccuracyFile], model: str) -> dict:
        n, w = self._test_params(model)
        first = files[0].path.read_bytes()
        self.step(first, 1, 0, f"calibration `infer 1 0` on {files[0].name}")  # sets the inference timeout
        windows = []
        start = time.monotonic()
        for k in range(self.settings.windows):
            f = files[k % len(files)]
            r = self.step(f.path.read_bytes(), n, w, f"window {k + 1} (`infer {n} {w}` on {f.name})")
            windows.append(
                {
                    "file": f.name,
                    "iterations": n,
                    "warmups": w,
                    "start_us": r["start_us"],
                    "end_us": r["end_us"],
                    "elapsed_us": metrics.elapsed_us(r["start_us"], r["end_us"]),
                    "throughput": metrics.throughput(n, r["start_us"], r["end_us"]),
                    "wall_s": r["wall_s"],
                    "results": r["results"],
                }
            )
            self.progress()
        duration = time.monotonic() - start
        s = self.settings
        return metrics.performance_summary(windows, duration, s.windows, s.min_seconds)

    def accuracy(self, files: list[AccuracyFile], model: str) -> dict:
        self._test_params(model)
        rows = []
        for f in files:
            r = self.step(f.path.read_bytes(), 1, 0, f"`infer 1 0` on {f.name}")
            if len(r["results"]) != f.classes:
                raise UserError(
                    f"the board returned {len(r['results'])} scores for {f.name}; y_labels.csv has {f.classes} classes"
                )
            probs = metrics.normalise(r["results"])
            pred = int(np.argmax(probs))
            rows.append(
                {
                    "file": f.name,
                    "label": f.label,
                    "scores": r["results"],
                    "normalised": [round(float(v), 6) for v in probs],
                    "predicted": pred,
                    "correct": pred == f.label,
                }
            )
            self.progress()
        labels = np.array([r["label"] for r in rows])
        probs = np.array([r["normalised"] for r in rows])
        k = files[0].classes
        preds = np.argmax(probs, axis=1)
        return {
            "count": len(rows),
            "top1": metrics.top1(probs, labels),
            "auc": metrics.multiclass_auc(labels, probs),
            "class_counts": np.bincount(labels, minlength=k).tolist(),
            "confusion_matrix": validation_metrics.confusion_matrix(preds, labels, k),
            "files": rows,
        }
