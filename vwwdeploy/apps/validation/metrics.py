"""Comparisons between the paths' outputs: pure numpy, no I/O, so they are tested on fabricated arrays.

Conventions: int8 scores are [N, K] raw output-tensor values; "dequantized" scores are
`(q - zero_point) * scale` (the output is a softmax, so these are probabilities). Predictions are the
argmax over classes, ties going to the lowest class index as in numpy.
"""

from __future__ import annotations

import numpy as np


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (np.asarray(q, dtype=np.float64) - zero_point) * scale


def _rows(x, dtype=None) -> np.ndarray:
    """[N, ...] -> [N, K] (an empty N keeps whatever trailing size it had)."""
    x = np.asarray(x, dtype=dtype)
    return x.reshape(len(x), int(np.prod(x.shape[1:])) if x.ndim > 1 else 1)


def predictions(scores: np.ndarray) -> np.ndarray:
    scores = _rows(scores)
    if len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    return scores.argmax(axis=1).astype(np.int64)


def accuracy(pred: np.ndarray, labels: np.ndarray) -> float | None:
    pred, labels = np.asarray(pred), np.asarray(labels)
    if len(labels) == 0:
        return None
    return float(np.mean(pred == labels))


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> list[list[int]]:
    """cm[true][predicted] counts."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(labels, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return cm.tolist()


def int8_agreement(a: np.ndarray, b: np.ndarray) -> dict:
    """How two int8 score arrays of the same inputs agree: exact rows, largest |delta|, top-1.

    `off_by_one_rate` is the fraction of images whose scores are not identical but differ by at most one
    int8 unit in every class: the rounding differences expected between optimized and reference kernels.
    """
    a, b = _rows(a, np.int32), _rows(b, np.int32)
    if a.shape != b.shape:
        raise ValueError(f"score shapes differ: {a.shape} vs {b.shape}")
    n = len(a)
    if n == 0:
        return {
            "count": 0,
            "bit_exact_rate": None,
            "max_abs_delta": None,
            "mean_abs_delta": None,
            "top1_agreement": None,
            "off_by_one_rate": None,
            "delta_histogram": {},
        }
    delta = np.abs(a - b)
    per_image = delta.max(axis=1)
    values, counts = np.unique(per_image, return_counts=True)
    return {
        "count": int(n),
        "bit_exact_rate": float(np.mean(per_image == 0)),
        "max_abs_delta": int(per_image.max()),
        "mean_abs_delta": float(delta.mean()),
        "top1_agreement": float(np.mean(predictions(a) == predictions(b))),
        "off_by_one_rate": float(np.mean(per_image == 1)),
        # images per largest per-class |delta|, e.g. {"0": 120, "1": 8}
        "delta_histogram": {str(int(v)): int(c) for v, c in zip(values, counts)},
    }


def cross_metrics(ref: np.ndarray, test: np.ndarray) -> dict:
    """ST Edge AI style cross metrics between two float score arrays (reference first).

    rmse / mae over every element; cosine similarity of the two flattened arrays; l2r = ||ref - test|| /
    ||ref||; each is what ST's `validate` reports for device vs host outputs.
    """
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    test = np.asarray(test, dtype=np.float64).reshape(-1)
    if ref.shape != test.shape:
        raise ValueError(f"score shapes differ: {ref.shape} vs {test.shape}")
    if ref.size == 0:
        return {"rmse": None, "mae": None, "cosine": None, "l2r": None}
    diff = ref - test
    nr, nt = np.linalg.norm(ref), np.linalg.norm(test)
    if nr == 0 and nt == 0:
        cosine = 1.0
    elif nr == 0 or nt == 0:
        cosine = 0.0
    else:
        cosine = float(np.dot(ref, test) / (nr * nt))
    return {
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "mae": float(np.mean(np.abs(diff))),
        "cosine": cosine,
        "l2r": float(np.linalg.norm(diff) / nr) if nr > 0 else (0.0 if nt == 0 else None),
    }


def latency_summary(latency_us) -> dict:
    """min / median / p90 / max / mean in microseconds (the board's own timer)."""
    lat = np.asarray(latency_us, dtype=np.float64).reshape(-1)
    if lat.size == 0:
        return {"count": 0, "min_us": None, "median_us": None, "p90_us": None, "max_us": None, "mean_us": None}
    return {
        "count": int(lat.size),
        "min_us": float(lat.min()),
        "median_us": float(np.median(lat)),
        "p90_us": float(np.percentile(lat, 90)),
        "max_us": float(lat.max()),
        "mean_us": float(lat.mean()),
    }


def histogram(values, bins: int = 20) -> tuple[list[int], list[float]]:
    """Counts and bin edges (bins+1 of them); one bin around a constant sample."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        return [], []
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return counts.tolist(), edges.tolist()
