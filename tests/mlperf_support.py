"""Helpers for the MLPerf Tiny tests: the official model (when cached), a small accuracy set on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vwwdeploy.paths import cache_dir

MLPERF_MODEL = cache_dir() / "mlperf" / "vww_96_int8.tflite"


def mlperf_model() -> Path:
    if not MLPERF_MODEL.is_file():
        pytest.skip(
            f"needs the MLPerf Tiny model at {MLPERF_MODEL} (absent on a fresh clone: take "
            "benchmark/training/visual_wake_words/trained_models/vww_96_int8.tflite from mlcommons/tiny)"
        )
    return MLPERF_MODEL


def write_set(folder: Path, n: int, seed: int = 0) -> list[bytes]:
    """n random 96x96x3 u8 files with alternating labels, in the official layout; returns their bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    blobs, rows = [], []
    for i in range(n):
        data = rng.integers(0, 256, 96 * 96 * 3, dtype=np.uint8).tobytes()
        (folder / f"img{i:03d}.bin").write_bytes(data)
        rows.append(f"img{i:03d}.bin,2,{i % 2}\n")
        blobs.append(data)
    (folder / "y_labels.csv").write_text("".join(rows))
    return blobs
