"""Labelled images -> the int8 model inputs every path runs, exactly as the device pipeline would see them.

Two sources, two preprocessings (each stated in the report):
- a labels CSV (`file,label`): each image goes through the board's camera path. `frame_from_image` turns
  the picture into the 324x244 grayscale sensor frame the simulated camera would deliver, the device
  pipeline (docs/protocol.md section 5: a centred window of the model's aspect resampled to its H x W,
  the grey value in every channel, int8 through the model's own scale and zero point) gives the model
  input. This is what a board that captured the picture would infer.
- a dataset folder or split (`vwwdeploy dataset build`): the stored images get the training eval
  preprocessing (`vwwdeploy.training.preprocess.eval_images`: central crop 0.875, resize), int8 = pixel -
  128. This is what `vwwdeploy evaluate` scores, so device accuracy compares with training's numbers.

Either way one int8 array is built once and every path (LiteRT, TFLM twin, board, float model) gets the
same bytes, so any difference between paths is the runtime's, never the preprocessing's.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vwwdeploy.data.input_convention import pixel_to_int8
from vwwdeploy.errors import UserError
from vwwdeploy.link.protocol.pipeline import (
    MAX_SIDE,
    MIN_SIDE,
    OUT,
    crop_window,
    frame_from_image,
    input_table,
    resample,
    supports_shape,
)

_CSV_MODES = {0: "decimation (the first pixel of each cell)", 1: "box-averaging (each cell's mean)"}
DATASET_PREPROCESSING = (
    "training eval path: stored image -> training.preprocess.eval_images (central crop 0.875, resize), "
    "int8 = pixel - 128"
)


@dataclass
class ValidationInputs:
    source: str  # "csv" | "dataset"
    data_path: str
    preprocessing: str
    names: list[str]  # what the report calls each image (file path or image id)
    labels: np.ndarray  # int64 [N]
    pixels: np.ndarray  # uint8 [N, H, W, C]: the model input as pixels, before the int8 mapping
    label_names: list[str] | None = None
    total_available: int = 0  # rows before --limit
    notes: list[str] = field(default_factory=list)
    input_table: np.ndarray | None = None  # pixel -> int8 of the camera path; None: pixel - 128

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def int8(self) -> np.ndarray:
        """int8 [N, H, W, C]: the camera path's table for CSV images, else pixel - 128 (both are pixel - 128
        for a model quantized with scale 2/255, zero point -1)."""
        if self.input_table is None:
            return pixel_to_int8(self.pixels)
        return self.input_table[self.pixels]


def load_inputs(
    data,
    input_shape,
    limit: int | None = None,
    num_classes: int | None = None,
    pipeline_mode: int = 0,
    camera_like_seed: int | None = None,
    input_scale: float | None = None,
    input_zero_point: int | None = None,
) -> ValidationInputs:
    """data: a labels CSV or a dataset folder/split; input_shape: the model's (1, H, W, C) or (H, W, C);
    pipeline_mode: the board's (0 decimate, 1 box-average), used for CSV images; camera_like_seed: also
    give the model inputs the seeded camera-like look (vwwdeploy.data.camera_like), same bytes for every path;
    input_scale, input_zero_point: the model's input quantization, which the camera path maps CSV pixels
    through (none given: pixel - 128)."""
    data = Path(data)
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 4:
        shape = shape[1:]
    if len(shape) != 3:
        raise UserError(f"the model input shape {tuple(input_shape)} is not an image (H, W, C)")
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be at least 1, not {limit}")
    if not data.exists():
        raise UserError(f"{data}: no such labels CSV or dataset folder")
    if data.is_dir():
        inputs = _from_dataset(data, shape, limit)
    else:
        inputs = _from_csv(data, shape, limit, pipeline_mode)
        inputs.input_table = input_table(input_scale, input_zero_point)
    if camera_like_seed is not None:
        from vwwdeploy.data.camera_like import camera_like

        inputs.pixels = camera_like(inputs.pixels, camera_like_seed)
        inputs.preprocessing += (
            f"; then camera-like (low light, noise, blur, gamma, vignetting; seed {camera_like_seed})"
        )
    if num_classes is not None and len(inputs) and int(inputs.labels.max()) >= num_classes:
        raise UserError(
            f"{data}: label {int(inputs.labels.max())} is out of range for a model with {num_classes} classes"
        )
    return inputs


def precheck_data(data) -> int:
    """Cheap checks before any board is touched: the CSV parses and names existing files, or the folder is
    a complete split. Returns the number of labelled images."""
    data = Path(data)
    if not data.exists():
        raise UserError(f"{data}: no such labels CSV or dataset folder")
    if data.is_dir():
        from vwwdeploy.data.store import open_split, resolve_split

        return len(open_split(resolve_split(data, "val")))
    rows = read_labels_csv(data)
    for image, _, line_no in rows:
        if not image.is_file():
            raise UserError(f"{data}:{line_no}: {image}: no such image file")
    return len(rows)


def read_labels_csv(path: Path) -> list[tuple[Path, int, int]]:
    """(image path, label, CSV line number) per row; relative paths are taken from the CSV's folder."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = [f.strip() for f in (reader.fieldnames or [])]
            if "file" not in fields or "label" not in fields:
                raise UserError(
                    f"{path}: a labels CSV needs a header with columns file,label "
                    f"(found {','.join(fields) or 'nothing'})"
                )
            reader.fieldnames = fields
            rows = []
            for line_no, row in enumerate(reader, start=2):
                file, label = (row.get("file") or "").strip(), (row.get("label") or "").strip()
                if not file:
                    raise UserError(f"{path}:{line_no}: empty file column")
                try:
                    label_i = int(label)
                except ValueError:
                    raise UserError(f"{path}:{line_no}: label {label!r} is not a class index (0, 1, ...)") from None
                if label_i < 0:
                    raise UserError(f"{path}:{line_no}: label {label_i} is negative")
                image = Path(file)
                if not image.is_absolute():
                    image = path.parent / image
                rows.append((image, label_i, line_no))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text CSV (expected columns file,label)") from None
    except csv.Error as exc:
        raise UserError(f"{path}: malformed CSV: {exc}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder, not a labels CSV") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    if not rows:
        raise UserError(f"{path}: no rows under the file,label header")
    return rows


def camera_pixels(image_path: Path, pipeline_mode: int = 0, height: int = OUT, width: int = OUT) -> np.ndarray:
    """One picture through the board's camera path: uint8 height x width grey (what the device would infer on)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image_path) as img:
            img.load()
            raw = frame_from_image(img)
    except FileNotFoundError:
        raise UserError(f"{image_path}: no such image file") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise UserError(f"{image_path}: not a readable image ({exc})") from None
    return resample(np.asarray(raw, dtype=np.uint8), height, width, pipeline_mode)


def csv_preprocessing(height: int, width: int, channels: int, pipeline_mode: int = 0) -> str:
    """The report's sentence for the camera path of one model shape and pipeline mode."""
    x0, y0, cw, ch = crop_window(height, width)
    return (
        "camera path: image -> 324x244 grayscale sensor frame (protocol.pipeline.frame_from_image) -> "
        f"centre {cw}x{ch} window at ({x0}, {y0}) -> {width}x{height} by "
        f"{_CSV_MODES.get(int(pipeline_mode), _CSV_MODES[0])} -> {channels} channel(s), "
        "int8 through the model's input scale and zero point (protocol.md section 5)"
    )


def _from_csv(path: Path, shape: tuple[int, int, int], limit: int | None, pipeline_mode: int = 0) -> ValidationInputs:
    h, w, c = shape
    if not supports_shape(h, w, c):
        raise UserError(
            f"a labels CSV goes through the camera pipeline, which makes {MIN_SIDE}..{MAX_SIDE} pixels a side "
            f"and 1 or 3 channels, but the model wants {h}x{w}x{c}; use a dataset folder instead"
        )
    rows = read_labels_csv(path)
    total = len(rows)
    rows = rows[:limit] if limit else rows
    pixels = np.empty((len(rows), h, w, c), dtype=np.uint8)
    for i, (image, _, _) in enumerate(rows):
        # An RGB model on the board still sees the grayscale sensor: the firmware repeats the channel.
        pixels[i] = camera_pixels(image, pipeline_mode, h, w)[:, :, None]
    notes = ["grayscale camera frame repeated over 3 channels for an RGB model"] if c == 3 else []
    return ValidationInputs(
        source="csv",
        data_path=str(path),
        preprocessing=csv_preprocessing(h, w, c, pipeline_mode),
        names=[str(r[0]) for r in rows],
        labels=np.array([r[1] for r in rows], dtype=np.int64),
        pixels=pixels,
        total_available=total,
        notes=notes,
    )


def _from_dataset(path: Path, shape: tuple[int, int, int], limit: int | None) -> ValidationInputs:
    from vwwdeploy.data.store import open_split, resolve_split

    split = open_split(resolve_split(path, "val"))
    h, w, c = shape
    if h != w:
        raise UserError(f"the model input {h}x{w} is not square; the training eval preprocessing makes square images")
    if split.channels != c:
        raise UserError(f"{split.path} holds {split.channels}-channel images but the model wants {c} channels")
    n = min(len(split), limit) if limit else len(split)
    if n == 0:
        raise UserError(f"{split.path}: the split holds no images")
    try:
        from vwwdeploy.training.preprocess import eval_images
    except ImportError:
        raise UserError(
            "validating on a dataset folder needs vwwdeploy.training.preprocess (not installed); use a labels CSV"
        ) from None
    stored = split.images(np.arange(n))
    pixels = np.asarray(eval_images(stored, image_size=h), dtype=np.uint8).reshape(n, h, w, c)
    return ValidationInputs(
        source="dataset",
        data_path=str(split.path),
        preprocessing=DATASET_PREPROCESSING,
        names=list(split.image_ids[:n]),
        labels=np.asarray(split.labels[:n], dtype=np.int64),
        pixels=pixels,
        label_names=list(split.label_names),
        total_available=len(split),
        notes=["synthetic dataset"] if split.synthetic else [],
    )
