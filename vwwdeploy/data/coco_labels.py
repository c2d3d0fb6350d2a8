"""The label pass: COCO instances JSON -> one Visual Wake Words label per image.

The rule is the one of the official VWW builder (tensorflow/models, slim/datasets/build_visualwakewords_data_lib):
an image is positive when some annotation of a category of interest has a COCO `area` (segmentation area, not the
box) above `threshold x width x height` of the image, width/height as the JSON states them. That script compares
with a strict `>`; we do the same, so a tie (which real float areas practically never hit) stays negative.
Every image the JSON lists gets a label, including images with no annotations at all (negatives).
Categories are looked up by name in the JSON's `categories`, never by assumed ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vwwdeploy.errors import UserError

DEFAULT_THRESHOLD = 0.005

try:  # orjson parses the ~500 MB COCO 2014 JSONs several times faster; the stdlib is the fallback.
    import orjson as _fast_json
except ImportError:  # pragma: no cover - depends on the environment
    _fast_json = None


@dataclass
class CocoLabels:
    """Labels for every image an instances JSON lists, in the JSON's order."""

    image_ids: list[int]
    file_names: list[str]
    widths: np.ndarray
    heights: np.ndarray
    labels: np.ndarray  # int64 0/1
    categories: list[str]
    category_ids: list[int]
    threshold: float
    synthetic: bool = False
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.image_ids)

    @property
    def positives(self) -> int:
        return int(self.labels.sum())


# Polygon segmentations and boxes are most of a COCO instances file (~70% of its bytes, ~20 million numbers) and the
# label pass needs neither: it uses COCO's precomputed `area`. Blanking them before parsing makes the parse several
# times faster. The patterns only match a key (a quote-delimited "segmentation"/"bbox" followed by `:` cannot occur
# inside a JSON string, whose quotes are escaped) followed by lists of numbers; RLE (dict) segmentations are kept.
# If the blanked text does not parse for any reason, the original is parsed instead (and reports the real error).
_HEAVY_VALUES = re.compile(
    rb'"(segmentation|bbox)"\s*:\s*(?:\[\s*\[[-0-9.eE,\s]*\](?:\s*,\s*\[[-0-9.eE,\s]*\])*\s*\]|\[[-0-9.eE,\s]*\])'
)


def _blank_heavy_values(raw: bytes) -> bytes:
    return _HEAVY_VALUES.sub(rb'"\1":null', raw)


def _loads(raw: bytes):
    if _fast_json is not None:
        return _fast_json.loads(raw)
    import json

    return json.loads(raw)


def _parse_json(path: Path):
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"annotations file {path} not found") from None
    except IsADirectoryError:
        raise UserError(f"annotations file {path} is a directory, expected a COCO instances JSON") from None
    except OSError as exc:
        raise UserError(f"cannot read annotations file {path}: {exc.strerror}") from None
    try:
        return _loads(_blank_heavy_values(raw))
    except ValueError:
        pass
    try:
        return _loads(raw)
    except ValueError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"annotations file {path} is not valid JSON: {first_line}") from None


def load_instances(path) -> dict:
    """Parse a COCO instances JSON and check the parts the label pass needs; UserError (one line) otherwise.

    Polygon `segmentation` and `bbox` values come back as None (see _HEAVY_VALUES): this is a parser for labels.
    """
    path = Path(path)
    coco = _parse_json(path)
    if not isinstance(coco, dict):
        raise UserError(f"{path} is not a COCO instances file (top level is not an object)")
    for key in ("images", "annotations", "categories"):
        if key not in coco:
            raise UserError(f"{path} has no `{key}` list; expected a COCO instances file (instances_*.json)")
        if not isinstance(coco[key], list):
            raise UserError(f"{path}: `{key}` is not a list")
    if not coco["images"]:
        raise UserError(f"{path} lists no images: the split would be empty")
    return coco


def category_ids_for(coco: dict, names: Sequence[str], source: str = "annotations") -> list[int]:
    """COCO category ids for the given names; an unknown name fails with the list of valid ones."""
    by_name: dict[str, int] = {}
    for cat in coco["categories"]:
        try:
            by_name[str(cat["name"])] = int(cat["id"])
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{source}: malformed category entry {str(cat)[:80]}") from None
    if not names:
        raise UserError("no category given")
    ids = []
    for name in names:
        if name not in by_name:
            valid = ", ".join(sorted(by_name)) or "(none)"
            raise UserError(f"unknown category {name!r} in {source}; valid names: {valid}")
        ids.append(by_name[name])
    return ids


def vww_labels(
    coco: dict,
    categories: Sequence[str] = ("person",),
    threshold: float = DEFAULT_THRESHOLD,
    source: str = "annotations",
) -> CocoLabels:
    """Apply the VWW rule to a parsed instances JSON (see the module docstring)."""
    if not 0.0 <= threshold < 1.0:
        raise UserError(f"small-object area threshold must be in [0, 1), not {threshold}")
    cat_ids = category_ids_for(coco, categories, source)
    images = coco["images"]
    n = len(images)
    image_ids: list[int] = [0] * n
    file_names: list[str] = [""] * n
    widths = np.empty(n, dtype=np.int64)
    heights = np.empty(n, dtype=np.int64)
    row_of: dict[int, int] = {}
    for row, img in enumerate(images):
        try:
            image_id, file_name = int(img["id"]), str(img["file_name"])
            width, height = int(img["width"]), int(img["height"])
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{source}: malformed image entry {str(img)[:120]}") from None
        if width <= 0 or height <= 0:
            raise UserError(f"{source}: image {image_id} has size {width}x{height}")
        if image_id in row_of:
            raise UserError(f"{source}: image id {image_id} is listed twice")
        row_of[image_id] = row
        image_ids[row] = image_id
        file_names[row] = file_name
        widths[row] = width
        heights[row] = height

    # Largest qualifying area per image, in one pass over the annotations of interest only.
    wanted = set(cat_ids)
    max_area = np.zeros(n, dtype=np.float64)
    try:
        for ann in coco["annotations"]:
            if ann["category_id"] in wanted:
                row = row_of.get(ann["image_id"])
                if row is not None:
                    area = float(ann["area"])
                    if area > max_area[row]:
                        max_area[row] = area
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{source}: malformed annotation entry (missing or bad {exc})") from None
    image_area = widths.astype(np.float64) * heights
    # Same arithmetic as the official script: area / image_area > threshold.
    labels = (max_area / image_area > threshold).astype(np.int64)
    info = coco.get("info") if isinstance(coco.get("info"), dict) else {}
    return CocoLabels(
        image_ids=image_ids,
        file_names=file_names,
        widths=widths,
        heights=heights,
        labels=labels,
        categories=list(categories),
        category_ids=cat_ids,
        threshold=float(threshold),
        synthetic=bool(info.get("synthetic", False)),
        info=info,
    )


def labels_from_file(path, categories: Sequence[str] = ("person",), threshold: float = DEFAULT_THRESHOLD) -> CocoLabels:
    """Parse + label in one call."""
    return vww_labels(load_instances(path), categories, threshold, source=str(path))
