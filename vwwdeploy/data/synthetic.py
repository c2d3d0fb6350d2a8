"""A small, procedurally drawn, SYNTHETIC stand-in for COCO 2014, laid out like `vwwdeploy dataset download`.

It exists so that the whole pipeline (build, train, evaluate, export, validate) can run offline in minutes.
It is not a person dataset: a "person" here is a drawn stick-and-block figure (head, torso, arms, legs) with a
COCO-style polygon segmentation and area; negatives carry clutter (boxes, balls, bars) and, now and then, a figure
too small to count under the VWW rule (so the builder's threshold is exercised). The JSON `info` says
`"synthetic": true` and the builder carries that into dataset.json, so it shows everywhere downstream.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vwwdeploy.atomic import atomic_dir
from vwwdeploy.errors import UserError

SIZES = [(160, 120), (120, 160), (144, 144)]  # (width, height): both orientations, like COCO photos
CATEGORIES = [
    {"id": 1, "name": "person", "supercategory": "person"},
    {"id": 2, "name": "box", "supercategory": "clutter"},
    {"id": 3, "name": "ball", "supercategory": "clutter"},
]
TINY_FIGURE_EVERY = 8  # one negative in this many holds a figure below the 0.5% area threshold


def _background(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """A smooth two-colour gradient with low-frequency blotches, so no class has a flat backdrop."""
    top, bottom = rng.integers(20, 236, 3), rng.integers(20, 236, 3)
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    img = top[None, None, :] * (1 - t) + bottom[None, None, :] * t
    blotch = rng.normal(0, 18, (h // 16 + 2, w // 16 + 2, 3))
    blotch = (
        np.asarray(
            Image.fromarray(np.clip(blotch + 128, 0, 255).astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC),
            dtype=np.float64,
        )
        - 128
    )
    img = np.broadcast_to(img, (h, w, 3)) + blotch + rng.normal(0, 4, (h, w, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def _clutter(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int, anns: list) -> None:
    for _ in range(int(rng.integers(2, 7))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = rng.integers(0, 3)
        cw, ch = int(rng.integers(w // 10, w // 3)), int(rng.integers(h // 10, h // 3))
        x0, y0 = int(rng.integers(0, w - cw)), int(rng.integers(0, h - ch))
        if kind == 0:
            draw.rectangle([x0, y0, x0 + cw, y0 + ch], fill=colour)
            anns.append((2, [[x0, y0, x0 + cw, y0, x0 + cw, y0 + ch, x0, y0 + ch]], float(cw * ch)))
        elif kind == 1:
            draw.ellipse([x0, y0, x0 + cw, y0 + ch], fill=colour)
            poly = _ellipse_polygon(x0 + cw / 2, y0 + ch / 2, cw / 2, ch / 2)
            anns.append((3, [poly], math.pi * cw * ch / 4))
        else:  # a bar at an angle: not annotated, just visual noise
            draw.line([x0, y0, x0 + cw, y0 + ch], fill=colour, width=int(rng.integers(1, 5)))


def _ellipse_polygon(cx: float, cy: float, rx: float, ry: float, n: int = 16) -> list[float]:
    pts = []
    for k in range(n):
        a = 2 * math.pi * k / n
        pts += [round(cx + rx * math.cos(a), 2), round(cy + ry * math.sin(a), 2)]
    return pts


def _limb(x0: float, y0: float, x1: float, y1: float, thick: float) -> list[float]:
    """A limb as a thick segment, i.e. a quadrilateral polygon."""
    dx, dy = x1 - x0, y1 - y0
    norm = math.hypot(dx, dy) or 1.0
    ox, oy = -dy / norm * thick / 2, dx / norm * thick / 2
    return [x0 + ox, y0 + oy, x1 + ox, y1 + oy, x1 - ox, y1 - oy, x0 - ox, y0 - oy]


def _figure_polygons(rng: np.random.Generator, cx: float, top: float, fh: float) -> list[list[float]]:
    """Head, torso, two arms, two legs of a standing figure `fh` pixels tall, in a random pose."""
    head_r = 0.1 * fh
    torso_w, torso_h = 0.26 * fh, 0.36 * fh
    neck = top + 2 * head_r
    hip = neck + torso_h
    limb = 0.09 * fh
    polys = [_ellipse_polygon(cx, top + head_r, head_r, head_r, 14)]
    polys.append([cx - torso_w / 2, neck, cx + torso_w / 2, neck, cx + torso_w / 2, hip, cx - torso_w / 2, hip])
    for side in (-1, 1):
        swing = rng.uniform(0.1, 0.9)
        sx = cx + side * torso_w / 2
        polys.append(_limb(sx, neck + limb, sx + side * 0.3 * fh * swing, neck + 0.3 * fh, limb))
        lx = cx + side * torso_w / 4
        spread = rng.uniform(0.02, 0.15)
        polys.append(_limb(lx, hip - limb / 2, lx + side * spread * fh, top + fh, limb * 1.2))
    return [[round(v, 2) for v in p] for p in polys]


def _draw_figure(img: Image.Image, rng: np.random.Generator, fh: float, anns: list) -> None:
    w, h = img.size
    fh = min(fh, h - 2)
    half_w = 0.35 * fh
    cx = float(rng.uniform(half_w, w - half_w))
    top = float(rng.uniform(0, h - fh - 1))
    polys = _figure_polygons(rng, cx, top, fh)
    # Dark or light against the local background so the figure is always visible in grayscale.
    local = np.asarray(img.convert("L"))[int(top) : int(top + fh), max(0, int(cx - half_w)) : int(cx + half_w)]
    level = 30 if local.mean() > 128 else 225
    colour = tuple(int(np.clip(level + v, 0, 255)) for v in rng.integers(-25, 26, 3))
    mask = Image.new("1", img.size, 0)
    draw, mask_draw = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    for poly in polys:
        draw.polygon(poly, fill=colour)
        mask_draw.polygon(poly, fill=1)
    # COCO's `area` is the segmentation's pixel area; count it from the rasterised mask.
    anns.append((1, polys, float(np.count_nonzero(np.asarray(mask)))))


def _draw_image(rng: np.random.Generator, positive: bool, tiny: bool) -> tuple[Image.Image, list]:
    w, h = SIZES[int(rng.integers(0, len(SIZES)))]
    img = _background(rng, w, h)
    anns: list = []
    _clutter(ImageDraw.Draw(img), rng, w, h, anns)
    if positive:
        _draw_figure(img, rng, float(rng.uniform(0.35, 0.9)) * h, anns)
    elif tiny:
        # ~0.1-0.3% of the image: a figure the VWW rule must not count.
        _draw_figure(img, rng, float(rng.uniform(0.07, 0.1)) * h, anns)
    return img, anns


def _bbox(polys: list[list[float]]) -> list[float]:
    xs = [v for p in polys for v in p[0::2]]
    ys = [v for p in polys for v in p[1::2]]
    return [round(min(xs), 2), round(min(ys), 2), round(max(xs) - min(xs), 2), round(max(ys) - min(ys), 2)]


def _write_split(root: Path, split: str, n: int, first_id: int, rng: np.random.Generator, seed: int) -> None:
    folder = root / f"{split}2014"
    folder.mkdir(parents=True)
    images, annotations = [], []
    negatives = 0
    for k in range(n):
        image_id = first_id + k
        positive = bool(rng.random() < 0.5)
        tiny = False
        if not positive:
            negatives += 1
            tiny = negatives % TINY_FIGURE_EVERY == 0
        img, anns = _draw_image(rng, positive, tiny)
        name = f"COCO_{split}2014_{image_id:012d}.jpg"
        img.save(folder / name, "JPEG", quality=90)
        images.append({"id": image_id, "file_name": name, "width": img.size[0], "height": img.size[1], "license": 0})
        for cat, polys, area in anns:
            annotations.append(
                {
                    "id": len(annotations) + 1 + image_id * 100,
                    "image_id": image_id,
                    "category_id": cat,
                    "segmentation": polys,
                    "area": round(area, 2),
                    "bbox": _bbox(polys),
                    "iscrowd": 0,
                }
            )
    coco = {
        "info": {
            "description": f"vwwdeploy SYNTHETIC two-class image set ({split}), procedurally drawn; not COCO",
            "synthetic": True,
            "seed": seed,
            "version": "1",
        },
        "licenses": [{"id": 0, "name": "generated by vwwdeploy", "url": ""}],
        "images": images,
        "annotations": annotations,
        "categories": CATEGORIES,
    }
    (root / "annotations").mkdir(exist_ok=True)
    (root / "annotations" / f"instances_{split}2014.json").write_text(json.dumps(coco), encoding="utf-8")


def _is_previous_synthetic(out: Path) -> bool:
    try:
        info = json.loads((out / "annotations" / "instances_train2014.json").read_text())["info"]
        return bool(info.get("synthetic"))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def make_synthetic_coco(out_dir, n_train: int, n_val: int, seed: int = 0) -> Path:
    """Write the synthetic set into out_dir (replacing an earlier synthetic set there); returns out_dir."""
    out = Path(out_dir)
    if n_train < 1 or n_val < 1:
        raise UserError(f"need at least one train and one val image, not {n_train}/{n_val}")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not _is_previous_synthetic(out))):
        raise UserError(f"{out} exists and is not an earlier synthetic set; choose an empty or new folder")
    rng = np.random.default_rng(seed)
    with atomic_dir(out) as tmp:
        _write_split(tmp, "train", n_train, 1, rng, seed)
        _write_split(tmp, "val", n_val, 1 + n_train, rng, seed)
    return out
