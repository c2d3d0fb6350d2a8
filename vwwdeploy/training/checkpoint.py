"""Checkpoints of a train dir: written atomically, resumed exactly, loaded as a float model.

Layout of a train dir:
  config.json              TrainConfig (model configuration and hyper-parameters)
  checkpoint.json          pointer to the newest complete checkpoint: {"step": N, "file": "ckpt-00000000N.npz"}
  ckpt-NNNNNNNNN.npz       step, model weights, optimizer variables, EMA shadows (numpy arrays, in order)
  events.out.tfevents.*    TensorBoard summaries

A checkpoint file is written under a temporary name and renamed; the pointer is then replaced the same
way. A crash at any moment leaves the pointer on a complete checkpoint (or no pointer at all).
Arrays are stored by position in the model's / optimizer's variable lists, which are fixed by the
model configuration; names and shapes are checked on restore.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from vwwdeploy.atomic import atomic_write_bytes, atomic_write_text
from vwwdeploy.errors import UserError
from vwwdeploy.training.config import TrainConfig

POINTER_FILE = "checkpoint.json"
KEEP_CHECKPOINTS = 3


def checkpoint_name(step: int) -> str:
    return f"ckpt-{step:09d}.npz"


def latest_checkpoint(train_dir: Path) -> Path | None:
    """The newest complete checkpoint file of `train_dir`, or None when it has none yet."""
    pointer = Path(train_dir) / POINTER_FILE
    if not pointer.is_file():
        return None
    try:
        data = json.loads(pointer.read_text(encoding="utf-8"))
        path = Path(train_dir) / data["file"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{pointer}: unreadable checkpoint pointer ({exc})") from None
    if not path.is_file():
        raise UserError(f"{pointer} names {path.name}, which is missing; the train dir was damaged")
    return path


def read_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """All arrays of one checkpoint file: 'step', 'model/NNNN', 'optimizer/NNNN', 'ema/NNNN'."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: unreadable checkpoint ({exc})") from None


def _group(arrays: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    keys = sorted(k for k in arrays if k.startswith(prefix + "/"))
    return [arrays[k] for k in keys]


def _assign(variables, values, what: str, path: Path) -> None:
    if len(variables) != len(values):
        raise UserError(
            f"{path}: checkpoint has {len(values)} {what} arrays, this model has {len(variables)}; "
            "it belongs to another model configuration"
        )
    for var, value in zip(variables, values):
        if tuple(var.shape) != tuple(value.shape):
            raise UserError(
                f"{path}: {what} {var.path if hasattr(var, 'path') else var.name} has shape "
                f"{tuple(value.shape)} in the checkpoint, {tuple(var.shape)} in the model"
            )
        var.assign(value)


def save_checkpoint(train_dir: Path, step: int, model_vars, optimizer_vars, ema_vars) -> Path:
    """Write one checkpoint atomically, move the pointer to it, and prune old ones."""
    train_dir = Path(train_dir)
    arrays = {"step": np.array(step, dtype=np.int64)}
    for prefix, variables in (("model", model_vars), ("optimizer", optimizer_vars), ("ema", ema_vars)):
        for i, var in enumerate(variables):
            arrays[f"{prefix}/{i:04d}"] = np.asarray(var.numpy() if hasattr(var, "numpy") else var)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    name = checkpoint_name(step)
    atomic_write_bytes(train_dir / name, buffer.getvalue())
    atomic_write_text(train_dir / POINTER_FILE, json.dumps({"step": int(step), "file": name}) + "\n")
    for old in sorted(train_dir.glob("ckpt-*.npz"))[:-KEEP_CHECKPOINTS]:
        if old.name != name:
            old.unlink(missing_ok=True)
    return train_dir / name


def restore_checkpoint(path: Path, model_vars, optimizer_vars, ema_vars) -> int:
    """Assign a checkpoint's arrays to live variables; returns its step."""
    arrays = read_checkpoint(path)
    _assign(model_vars, _group(arrays, "model"), "model", path)
    _assign(optimizer_vars, _group(arrays, "optimizer"), "optimizer", path)
    _assign(ema_vars, _group(arrays, "ema"), "moving-average", path)
    return int(arrays["step"])


def checked_train_dir(train_dir) -> tuple[TrainConfig, Path]:
    """(config, newest checkpoint) of a train dir, or one line saying why it is not one; no TensorFlow."""
    train_dir = Path(train_dir)
    config = TrainConfig.load(train_dir)
    path = latest_checkpoint(train_dir)
    if path is None:
        raise UserError(f"{train_dir} has no checkpoint yet; train first (`vwwdeploy train`)")
    return config, path


def load_float_model(train_dir, batch_size: int | None = None):
    """(keras.Model holding the checkpoint's moving-average (EMA) weights, TrainConfig) of a train dir.

    `batch_size=1` builds the static-shape graph used for int8 export.
    """
    config, path = checked_train_dir(train_dir)
    return float_model(config, read_checkpoint(path), path, batch_size), config


def float_model(config: TrainConfig, arrays: dict, path: Path, batch_size: int | None = None):
    """A keras.Model with the EMA weights of checkpoint `arrays` (read from `path`), for callers that read it once."""
    from vwwdeploy.training.model import build_mobilenet_v1  # TensorFlow: only once the arguments are good

    model = build_mobilenet_v1(
        config.width, config.image_size, config.channels, config.num_classes, weight_decay=0.0, batch_size=batch_size
    )
    _assign(model.weights, _group(arrays, "ema"), "moving-average", path)
    return model


def checkpoint_step(train_dir) -> int | None:
    path = latest_checkpoint(Path(train_dir))
    return None if path is None else int(read_checkpoint(path)["step"])
