"""The closing loss of a run, smoothed: one batch's loss is too noisy to say whether training helped."""

from __future__ import annotations

from collections import deque

WINDOW_STEPS = 20


class LossWindow:
    """Keeps the first and the last `size` step losses of a run (as given, e.g. tensors: read only at the end).

    The summary compares the mean of the first w steps with the mean of the last w steps, where
    w = min(size, steps // 2) so the two windows never overlap on a short run.
    """

    def __init__(self, size: int = WINDOW_STEPS):
        self.size = size
        self.count = 0
        self._first: list = []
        self._last: deque = deque(maxlen=size)

    def add(self, loss) -> None:
        self.count += 1
        if len(self._first) < self.size:
            self._first.append(loss)
        self._last.append(loss)

    def summary(self) -> dict | None:
        """{"window": w, "steps": n, "first": mean, "last": mean}, or None when no step ran."""
        if not self.count:
            return None
        w = max(1, min(self.size, self.count // 2))
        first = [float(v) for v in self._first[:w]]
        last = [float(v) for v in list(self._last)[-w:]]
        return {"window": w, "steps": self.count, "first": sum(first) / w, "last": sum(last) / w}


def describe(smoothed: dict | None) -> str:
    """'loss 0.693 -> 0.412 (mean of the first and last 20 steps)'; says so when no step ran."""
    if not smoothed:
        return "loss: no training step ran"
    w = smoothed["window"]
    steps = "step" if w == 1 else f"{w} steps"
    return f"loss {smoothed['first']:.3f} -> {smoothed['last']:.3f} (mean of the first and last {steps})"
