"""The on-disk VWW dataset: labels.csv + dataset.json + sharded, memory-mappable uint8 image arrays.

A *split folder* (one split, e.g. `train/`) holds:
  labels.csv                 image_id,file,label  (rows in store order)
  dataset.json               manifest (format version, categories, label names, size, channels, counts, shards...)
  images/shard-NNNNN.npy     uint8 [n, S, S] (grayscale) or [n, S, S, 3] (RGB)
A *dataset folder* (from `dataset build --coco-dir`) holds `train/` and `val/` split folders.

Images are stored whole, resized to SxS ignoring aspect (as slim's VWW preprocessing sees them), at a working
size above the model's 96 so training can crop. Shards are plain .npy files so numpy can memory-map them:
reading a batch touches only the rows it needs.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vwwdeploy.errors import UserError

FORMAT = "vwwdeploy-vww-split"
FORMAT_VERSION = 1
MANIFEST = "dataset.json"
LABELS = "labels.csv"
IMAGES_DIR = "images"
LABEL_COLUMNS = ["image_id", "file", "label"]
DEFAULT_SHARD_SIZE = 4096


def label_names_for(categories: Sequence[str]) -> list[str]:
    """["notperson", "person"] for one category; several are joined with "+" ("notperson+car", "person+car")."""
    joined = "+".join(categories)
    return [f"not{joined}", joined]


def shard_name(index: int) -> str:
    return f"{IMAGES_DIR}/shard-{index:05d}.npy"


class SplitWriter:
    """Append decoded images (in store order) and their labels; `finish()` writes labels.csv and dataset.json.

    Write into a folder that is not yet visible to readers (vwwdeploy.atomic.atomic_dir): the manifest is
    written last, but only the final rename makes a split complete.
    """

    def __init__(self, path: Path, size: int, channels: int, shard_size: int = DEFAULT_SHARD_SIZE):
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, not {channels}")
        self.path = Path(path)
        self.size = int(size)
        self.channels = int(channels)
        self.shard_size = int(shard_size)
        self.rows: list[tuple[str, str, int]] = []
        self.shards: list[dict] = []
        self._pending: list[np.ndarray] = []
        self._pending_count = 0
        (self.path / IMAGES_DIR).mkdir(parents=True, exist_ok=True)

    @property
    def image_shape(self) -> tuple[int, ...]:
        if self.channels == 1:
            return (self.size, self.size)
        return (self.size, self.size, self.channels)

    def add(self, images: np.ndarray, rows: Sequence[tuple[str, str, int]]) -> None:
        """images: uint8 [n, *image_shape]; rows: (image_id, file, label) for each image, same order."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.shape[1:] != self.image_shape or len(images) != len(rows):
            raise ValueError(
                f"expected uint8 [{len(rows)}, {self.image_shape}] images, got {images.dtype} {images.shape}"
            )
        if not len(rows):
            return
        self.rows.extend((str(i), str(f), int(lab)) for i, f, lab in rows)
        self._pending.append(images)
        self._pending_count += len(images)
        while self._pending_count >= self.shard_size:
            self._flush(self.shard_size)

    def _flush(self, count: int) -> None:
        block = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        head, rest = block[:count], block[count:]
        name = shard_name(len(self.shards))
        np.save(self.path / name, np.ascontiguousarray(head), allow_pickle=False)
        self.shards.append({"file": name, "count": int(len(head))})
        self._pending = [rest] if len(rest) else []
        self._pending_count = len(rest)

    def finish(
        self,
        *,
        split: str,
        categories: Sequence[str],
        synthetic: bool = False,
        threshold: float | None = None,
        report: dict | None = None,
        extra: dict | None = None,
        label_names: Sequence[str] | None = None,
    ) -> dict:
        """Write the last shard, labels.csv and dataset.json; returns the manifest."""
        if self._pending_count:
            self._flush(self._pending_count)
        with open(self.path / LABELS, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(LABEL_COLUMNS)
            writer.writerows(self.rows)
        labels = [r[2] for r in self.rows]
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "split": split,
            "categories": list(categories),
            "label_names": list(label_names) if label_names else label_names_for(categories),
            "small_object_area_threshold": threshold,
            "size": self.size,
            "channels": self.channels,
            "count": len(labels),
            "positives": int(sum(1 for lab in labels if lab == 1)),
            "synthetic": bool(synthetic),
            "report": dict(report or {}),
            "shards": self.shards,
        }
        manifest.update(extra or {})
        (self.path / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return manifest


def write_split(
    path: Path,
    images: np.ndarray,
    image_ids: Sequence[str],
    files: Sequence[str],
    labels: Sequence[int],
    *,
    categories: Sequence[str] = ("person",),
    split: str = "train",
    synthetic: bool = False,
    threshold: float | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
) -> dict:
    """Write in-memory images as a split folder in one call (handy for tests and small sets)."""
    images = np.asarray(images, dtype=np.uint8)
    channels = 1 if images.ndim == 3 else images.shape[3]
    writer = SplitWriter(path, images.shape[1], channels, shard_size=shard_size)
    writer.add(images, list(zip(image_ids, files, labels)))
    return writer.finish(split=split, categories=categories, synthetic=synthetic, threshold=threshold)


@dataclass
class DatasetSplit:
    """A complete split folder opened for reading; images stay on disk (memory-mapped) until asked for."""

    path: Path
    image_ids: list[str]
    files: list[str]
    labels: np.ndarray
    label_names: list[str]
    size: int
    channels: int
    synthetic: bool
    categories: list[str]
    manifest: dict = field(repr=False)
    _shards: list[np.ndarray] = field(repr=False)
    _starts: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_shape(self) -> tuple[int, ...]:
        return (self.size, self.size) if self.channels == 1 else (self.size, self.size, self.channels)

    def images(self, indices=None) -> np.ndarray:
        """uint8 [n, S, S] or [n, S, S, C]: all images (indices=None) or the rows at `indices`, in that order."""
        if indices is None:
            if len(self._shards) == 1:
                return self._shards[0]
            return np.concatenate(self._shards)
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"image index out of range for a split of {n} images")
        idx = np.where(idx < 0, idx + n, idx)
        out = np.empty((idx.size, *self.image_shape), dtype=np.uint8)
        shard_of = np.searchsorted(self._starts, idx, side="right") - 1
        for s in np.unique(shard_of):
            sel = shard_of == s
            local = idx[sel] - self._starts[s]
            out[sel] = self._shards[s][local]
        return out


def _incomplete(path: Path, why: str) -> UserError:
    return UserError(
        f"{path} is not a complete vwwdeploy dataset split ({why}); rebuild it with `vwwdeploy dataset build`"
    )


def open_split(path) -> DatasetSplit:
    """Open a split folder; raises UserError unless it is complete and consistent."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path}: no such dataset folder")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise _incomplete(path, f"no {MANIFEST}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _incomplete(path, f"unreadable {MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _incomplete(path, f"{MANIFEST} is not a vwwdeploy split manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise UserError(
            f"{path}: dataset format version {manifest.get('format_version')} is not supported "
            f"(this vwwdeploy reads version {FORMAT_VERSION}); rebuild it"
        )
    try:
        size, channels = int(manifest["size"]), int(manifest["channels"])
        count = int(manifest["count"])
        shard_entries = list(manifest["shards"])
        label_names = list(manifest["label_names"])
        categories = list(manifest["categories"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _incomplete(path, f"{MANIFEST} lacks {exc}") from None

    try:
        with open(path / LABELS, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = list(reader)
    except OSError:
        raise _incomplete(path, f"no {LABELS}") from None
    if header != LABEL_COLUMNS:
        raise _incomplete(path, f"{LABELS} header is {header}, expected {LABEL_COLUMNS}")
    valid_labels = {str(i) for i in range(max(2, len(label_names)))}  # VWW: 0/1; folder sets: one per class
    if len(rows) != count or any(len(r) != 3 or r[2] not in valid_labels for r in rows):
        raise _incomplete(path, f"{LABELS} has {len(rows)} rows or bad labels; manifest says {count}")

    shape = (size, size) if channels == 1 else (size, size, channels)
    shards, starts, total = [], [], 0
    for entry in shard_entries:
        shard_path = path / entry["file"]
        try:
            arr = np.load(shard_path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise _incomplete(path, f"unreadable shard {entry['file']}: {exc}") from None
        if arr.dtype != np.uint8 or arr.shape[1:] != shape or len(arr) != int(entry["count"]):
            raise _incomplete(
                path, f"shard {entry['file']} is {arr.dtype} {arr.shape}, expected uint8 [{entry['count']}, {shape}]"
            )
        shards.append(arr)
        starts.append(total)
        total += len(arr)
    if total != count:
        raise _incomplete(path, f"shards hold {total} images, manifest says {count}")

    return DatasetSplit(
        path=path,
        image_ids=[r[0] for r in rows],
        files=[r[1] for r in rows],
        labels=np.array([int(r[2]) for r in rows], dtype=np.int64),
        label_names=label_names,
        size=size,
        channels=channels,
        synthetic=bool(manifest.get("synthetic", False)),
        categories=categories,
        manifest=manifest,
        _shards=shards,
        _starts=np.array(starts, dtype=np.int64),
    )


def is_split(path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def resolve_split(path, prefer: str) -> Path:
    """A split folder as given, or `path/<prefer>` of a dataset folder (prefer = "train" | "val")."""
    path = Path(path)
    if prefer not in ("train", "val"):
        raise ValueError(f"prefer must be 'train' or 'val', not {prefer!r}")
    if is_split(path):
        return path
    if (path / prefer).is_dir():
        return path / prefer
    if not path.exists():
        raise UserError(f"{path}: no such dataset folder")
    raise UserError(f"{path} is neither a dataset split (no {MANIFEST}) nor a dataset folder with a {prefer}/ split")
