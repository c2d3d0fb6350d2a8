"""The figures the MLPerf Tiny runner reports: throughput per window from the two `m-lap-us` timestamps,
the median of the windows, top-1 on normalised scores and ROC AUC (sklearn's `roc_auc_score`, computed
here as the Mann-Whitney statistic with ties counted one half)."""

from __future__ import annotations

import numpy as np

from vwwdeploy.errors import UserError
from vwwdeploy.link import mlperf_protocol as p

LAP_WRAP = 1 << 32  # m-lap-us is an `unsigned long`: 32 bits on a Cortex-M, it wraps after ~71.6 minutes


def elapsed_us(start: int, end: int) -> int:
    """Microseconds between two lap timestamps, across one 32-bit wrap."""
    return end - start if end >= start else end + LAP_WRAP - start


def throughput(iterations: int, start_us: int, end_us: int) -> float:
    """Inferences per second of one window."""
    dt = elapsed_us(start_us, end_us)
    return iterations / (dt / 1e6) if dt > 0 else 0.0


def performance_summary(
    windows: list[dict], duration_s: float, expected_windows: int = p.PERF_WINDOWS, min_seconds=p.MIN_PERF_SECONDS
) -> dict:
    """Median throughput and latency; `errors` lists why the run is not a valid MLPerf Tiny run (the official
    runner's error 1, wrong number of windows, and error 2, a run shorter than 10 s)."""
    errors = []
    if len(windows) != expected_windows:
        errors.append(f"{len(windows)} performance windows, MLPerf Tiny takes exactly {expected_windows}")
    if duration_s < min_seconds:
        errors.append(f"the run lasted {duration_s:.1f} s, under MLPerf Tiny's {min_seconds:g} s minimum")
    rates = [w["throughput"] for w in windows]
    median = float(np.median(rates)) if rates else None
    if median is not None and median <= 0:
        errors.append("the board's timestamps did not advance (throughput 0): is its timer running?")
    return {
        "median_throughput": median,
        "latency_ms": 1000.0 / median if median else None,
        "duration_s": duration_s,
        "windows": windows,
        "valid": not errors,
        "errors": errors,
    }


def normalise(scores) -> np.ndarray:
    """Scores divided by their sum, as the runner does before top-1 and AUC (unchanged if the sum is not > 0)."""
    s = np.asarray(scores, dtype=np.float64)
    total = s.sum()
    return s / total if total > 0 else s


def top1(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probs, axis=1) == labels)) if len(labels) else 0.0


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_vals = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def roc_auc(labels, scores) -> float | None:
    """Area under the ROC curve of `scores` for positives `labels == 1`; None when one class is absent."""
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _average_ranks(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def multiclass_auc(labels: np.ndarray, probs: np.ndarray) -> float | None:
    """Binary: AUC of the class-1 column (the runner's `roc_auc_score(y, p[:, 1])`); more classes: the mean of
    one-vs-rest AUCs (its `multi_class='ovr'`, macro average)."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    if probs.ndim != 2 or not len(labels):
        return None
    if probs.shape[1] == 2:
        return roc_auc(labels == 1, probs[:, 1])
    aucs = [roc_auc(labels == k, probs[:, k]) for k in range(probs.shape[1])]
    return None if any(a is None for a in aucs) else float(np.mean(aucs))


def reject_unusable(probs: np.ndarray) -> None:
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise UserError(f"the board returned {probs.shape[-1] if probs.ndim else 0} score(s) per file; top-1 needs 2+")
