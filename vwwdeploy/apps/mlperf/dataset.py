"""The MLPerf Tiny accuracy-set layout: `y_labels.csv` rows `file,classes,label` next to raw input files
(for vww01: 96x96x3 u8 RGB, 27,648 bytes each, class 0 = no person, 1 = person)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vwwdeploy.errors import UserError

LABELS_FILE = "y_labels.csv"


@dataclass(frozen=True)
class AccuracyFile:
    name: str
    classes: int
    label: int
    path: Path


def read_accuracy_set(folder: Path, expected_bytes: int | None = None) -> list[AccuracyFile]:
    """The files listed in `folder/y_labels.csv`, checked: present, the same class count, labels in range and,
    when `expected_bytes` is given, that many bytes each."""
    folder = Path(folder)
    csv_path = folder / LABELS_FILE
    if not folder.is_dir():
        raise UserError(f"data folder {folder} does not exist or is not a folder")
    if not csv_path.is_file():
        raise UserError(f"{csv_path} is missing: --data takes a folder with y_labels.csv (file,classes,label)")
    files = []
    with open(csv_path, newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh), 1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 3:
                raise UserError(f"{csv_path}:{lineno}: expected file,classes,label, got {','.join(row)!r}")
            name, classes, label = (c.strip() for c in row[:3])
            try:
                classes_n, label_n = int(classes), int(label)
            except ValueError:
                raise UserError(f"{csv_path}:{lineno}: classes and label must be integers, got {row[1:3]}") from None
            if classes_n < 2 or not 0 <= label_n < classes_n:
                raise UserError(f"{csv_path}:{lineno}: label {label_n} is not a class of {classes_n}")
            path = folder / name
            if not path.is_file():
                raise UserError(f"{csv_path}:{lineno}: {name} does not exist in {folder}")
            if expected_bytes is not None and path.stat().st_size != expected_bytes:
                raise UserError(
                    f"{path} has {path.stat().st_size} bytes; the board takes {expected_bytes} (96x96x3 u8 for vww01)"
                )
            files.append(AccuracyFile(name, classes_n, label_n, path))
    if not files:
        raise UserError(f"{csv_path} lists no files")
    if len({f.classes for f in files}) != 1:
        raise UserError(f"{csv_path}: rows disagree on the number of classes")
    return files


# ------------------------------------------------------------------ writing a set

MLPERF_AREA_RATIO = 0.025  # a person box (w x h) over 2.5% of the image makes it a person image
SIZE = 96


def mlperf_labels(coco: dict, area_ratio: float = MLPERF_AREA_RATIO, category: str = "person") -> dict[int, int]:
    """{image id: label} by the MLPerf Tiny VWW rule (SiliconLabs platform_ml_models builder): 1 when some
    non-crowd person annotation's box w x h exceeds `area_ratio` of the image, 0 when the image has no non-crowd
    person annotation at all; images whose persons are all smaller are left out (neither class)."""
    ids = [int(c["id"]) for c in coco.get("categories", []) if c.get("name") == category]
    if not ids:
        raise UserError(f"the annotations have no `{category}` category")
    images = {int(im["id"]): im for im in coco["images"]}
    boxes: dict[int, list[float]] = {}
    for ann in coco["annotations"]:
        if int(ann.get("category_id", -1)) not in ids or ann.get("iscrowd", 0):
            continue
        bbox = ann.get("bbox") or [0, 0, 0, 0]
        boxes.setdefault(int(ann["image_id"]), []).append(float(bbox[2]) * float(bbox[3]))
    labels = {}
    for image_id, im in images.items():
        areas = boxes.get(image_id)
        if not areas:
            labels[image_id] = 0
            continue
        area = float(im["width"]) * float(im["height"])
        if area > 0 and max(areas) / area > area_ratio:
            labels[image_id] = 1
    return labels


def balanced_pick(labels: dict, count: int | None, seed: int) -> list:
    """`count` keys (half of each class; default: as many as the smaller class allows), seeded, shuffled."""
    rng = np.random.default_rng(seed)
    pos = sorted(k for k, v in labels.items() if v == 1)
    neg = sorted(k for k, v in labels.items() if v == 0)
    per_class = min(len(pos), len(neg)) if count is None else count // 2
    if per_class == 0:
        raise UserError(f"no balanced set possible: {len(pos)} person and {len(neg)} no-person images")
    if per_class > min(len(pos), len(neg)):
        raise UserError(
            f"--count {count} needs {per_class} images of each class; there are {len(pos)} person and "
            f"{len(neg)} no-person images (a smaller --count, or omit it for {2 * min(len(pos), len(neg))})"
        )
    chosen = list(rng.choice(np.array(pos, dtype=object), per_class, replace=False))
    chosen += list(rng.choice(np.array(neg, dtype=object), per_class, replace=False))
    rng.shuffle(chosen)
    return chosen


def to_input(pixels: np.ndarray) -> bytes:
    """An RGB image (any size) -> 96x96x3 u8 bytes: anti-aliased resize, aspect ratio not kept."""
    from PIL import Image

    im = Image.fromarray(np.asarray(pixels, dtype=np.uint8), "RGB")
    if im.size != (SIZE, SIZE):
        im = im.resize((SIZE, SIZE), Image.Resampling.BILINEAR, reducing_gap=None)  # Pillow widens the filter
    return np.asarray(im, dtype=np.uint8).tobytes()


def write_accuracy_set(out: Path, items: list[tuple[str, bytes, int]]) -> None:
    """Write `name.bin` files and y_labels.csv (`file,2,label`) into `out`, atomically."""
    from vwwdeploy.atomic import atomic_dir

    with atomic_dir(Path(out)) as tmp:
        rows = []
        for name, data, label in items:
            (tmp / name).write_bytes(data)
            rows.append(f"{name},2,{label}\n")
        (tmp / LABELS_FILE).write_text("".join(rows))


def _load_json(path: Path):
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read annotations file {path}: {exc.strerror or exc}") from None
    try:
        import orjson

        return orjson.loads(raw)
    except ImportError:
        import json

        try:
            return json.loads(raw)
        except ValueError as exc:
            raise UserError(f"annotations file {path} is not valid JSON: {str(exc).splitlines()[0]}") from None
    except ValueError as exc:
        raise UserError(f"annotations file {path} is not valid JSON: {str(exc).splitlines()[0]}") from None


def from_coco(annotations: Path, images: Path, out: Path, count=None, seed=0, area_ratio=MLPERF_AREA_RATIO, track=None):
    """The MLPerf rule on a COCO instances JSON + its image folder. Returns (person, no-person) counts written."""
    from PIL import Image

    if not Path(images).is_dir():
        raise UserError(f"image folder {images} does not exist")
    coco = _load_json(Path(annotations))
    if not isinstance(coco, dict) or not all(isinstance(coco.get(k), list) for k in ("images", "annotations")):
        raise UserError(f"{annotations} is not a COCO instances JSON (images, annotations, categories)")
    files = {int(im["id"]): im["file_name"] for im in coco["images"]}
    labels = mlperf_labels(coco, area_ratio)
    labels = {k: v for k, v in labels.items() if (Path(images) / files[k]).is_file()}
    chosen = balanced_pick(labels, count, seed)
    items = []
    for image_id in track(chosen) if track else chosen:
        path = Path(images) / files[image_id]
        try:
            with Image.open(path) as im:
                rgb = np.asarray(im.convert("RGB"))
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc}") from None
        items.append((f"{Path(files[image_id]).stem}.bin", to_input(rgb), labels[image_id]))
    write_accuracy_set(out, items)
    return sum(i[2] for i in items), sum(1 - i[2] for i in items)


def from_vww_split(split_dir: Path, out: Path, count=None, seed=0, track=None):
    """A `vwwdeploy dataset build --rgb` split: its own labels (the VWW rule), images resized to 96x96."""
    from vwwdeploy.data.store import open_split

    split = open_split(split_dir)
    if split.channels != 3:
        raise UserError(f"{split_dir} stores grayscale images; MLPerf Tiny inputs are RGB: rebuild with --rgb")
    labels = {i: int(v) for i, v in enumerate(split.labels)}
    chosen = balanced_pick(labels, count, seed)
    items = []
    for i in track(chosen) if track else chosen:
        name = f"{Path(str(split.files[i])).stem}.bin"
        items.append((name, to_input(split.images([i])[0]), labels[i]))
    write_accuracy_set(out, items)
    return sum(i[2] for i in items), sum(1 - i[2] for i in items)
