"""Helpers shared by the training/evaluation/export tests (no tests here): tiny split folders written with
the dataset store's own writer, and a tiny, fast model configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from vwwdeploy.data.store import write_split

# Small enough for 2 shared cores: 32x32 input (MobileNetV1's minimum), 40x40 stored images.
TINY = dict(image_size=32, batch_size=8)
TINY_STORE = 40


def tiny_split(
    path: Path, n: int = 32, size: int = TINY_STORE, channels: int = 1, seed: int = 0, split: str = "train"
) -> Path:
    """A split folder of easy two-class images: positives carry a bright rectangle on a dark background."""
    rng = np.random.default_rng(seed)
    labels = np.array([i % 2 for i in range(n)])
    shape = (n, size, size) if channels == 1 else (n, size, size, channels)
    images = rng.integers(0, 70, shape, dtype=np.uint8)
    for i in np.flatnonzero(labels):
        y, x = rng.integers(2, size // 2, 2)
        images[i, y : y + size // 3, x : x + size // 4] = 230
    images[0, 0, 0], images[0, 0, 1] = 0, 255  # full pixel range, as real photos have
    write_split(
        path, images, [str(i) for i in range(n)], [f"img{i}.jpg" for i in range(n)], labels.tolist(), split=split
    )
    return path


def tiny_dataset(root: Path, n_train: int = 32, n_val: int = 16) -> Path:
    """A dataset folder with train/ and val/ splits."""
    tiny_split(root / "train", n_train, seed=0, split="train")
    tiny_split(root / "val", n_val, seed=1, split="val")
    return root


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vwwdeploy", *args], capture_output=True, text=True, timeout=timeout)


_TRAINED: dict[str, Path] = {}


def tiny_trained(steps: int = 4) -> tuple[Path, Path]:
    """(train dir, dataset folder) of a short tiny run, made once per test session and shared by the
    evaluate and export tests (building and tracing the train step is the expensive part)."""
    import atexit
    import shutil
    import tempfile

    from vwwdeploy.training.loop import train

    if "root" not in _TRAINED:
        root = Path(tempfile.mkdtemp(prefix="vwwdeploy-tiny-trained-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        dataset = tiny_dataset(root / "data")
        train(dataset, root / "run", max_steps=steps, log=lambda line: None, **TINY)
        _TRAINED["root"] = root
    root = _TRAINED["root"]
    return root / "run", root / "data"
