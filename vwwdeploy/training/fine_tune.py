"""`train --init-from`: fine-tune a trained detector (a train dir, or an int8 .tflite via `import`) on a small set.

The recipe suits a few hundred pictures:
1. the classifier head alone (backbone frozen) for `head_steps` steps at `learning_rate`;
2. then every layer at `learning_rate x backbone_lr_factor`;
with training augmentation on, and the moving-average (EMA) weights scored on the val split every
`eval_every_steps` steps: only a better val accuracy writes a checkpoint, so the train dir ends holding the
best one, and step 0 (the start point, when its head is kept) is scored first, so a fine-tune never ends worse
than where it started on its own val split.

Batch-norm layers stay in inference mode throughout: an imported model carries its folded biases in them, and
batch statistics of a small set are too noisy to replace the moving ones the detector learned on COCO.

A new head (random logits layer) is made when the dataset's classes differ from the source's, but only when
asked (`new_head`): training a person detector on a cat/dog set by accident is an error worth one line.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.training.config import TrainConfig

FINE_TUNE_FILE = "fine_tune.json"
DEFAULTS = {
    "max_steps": 300,
    "batch_size": 32,
    "learning_rate": 0.01,
    "backbone_lr_factor": 0.1,
    "eval_every_steps": 25,
    "moving_average_decay": 0.999,
}


def load_source(init_from, grayscale: bool = False, log: Callable[[str], None] = print):
    """(float keras.Model, TrainConfig-like fields incl. label_names, description) of a train dir or .tflite."""
    path = Path(init_from)
    if path.is_dir():
        from vwwdeploy.training.checkpoint import load_float_model

        model, config = load_float_model(path)
        return model, config.model_signature() | {"label_names": list(config.label_names)}, f"train dir {path}"
    if not path.exists():
        raise UserError(f"--init-from {path}: no such train dir or .tflite file")
    from vwwdeploy.training.import_tflite import default_label_names, rebuild

    model, fields, _ = rebuild(path, grayscale=grayscale, log=log)
    return model, fields | {"label_names": default_label_names(fields["num_classes"])}, f"int8 model {path}"


class FineTuner:
    """Model, two optimizers (head-only, then all layers), EMA shadows and the two compiled steps."""

    def __init__(self, config: TrainConfig, backbone_lr_factor: float):
        import keras
        import tensorflow as tf

        from vwwdeploy.training.model import batch_norm_layers, build_mobilenet_v1, logits_model

        self.config = config
        keras.utils.set_random_seed(config.seed)
        self.model = build_mobilenet_v1(
            config.width, config.image_size, config.channels, config.num_classes, config.weight_decay
        )
        for layer in batch_norm_layers(self.model):
            layer.trainable = False  # inference mode in Keras 3, and gamma/beta stay as imported
        self.logits_model = logits_model(self.model)
        self.head_vars = list(self.model.get_layer("logits").trainable_variables)
        self.all_vars = list(self.model.trainable_variables)

        def rmsprop(lr):
            return keras.optimizers.RMSprop(
                learning_rate=lr,
                rho=config.rmsprop_decay,
                momentum=config.rmsprop_momentum,
                epsilon=config.rmsprop_epsilon,
            )

        self.head_optimizer = rmsprop(config.learning_rate)
        self.head_optimizer.build(self.head_vars)
        self.all_optimizer = rmsprop(config.learning_rate * backbone_lr_factor)
        self.all_optimizer.build(self.all_vars)
        self.ema = [tf.Variable(w.numpy(), trainable=False) for w in self.model.weights]
        self.steps = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._loss = keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=config.label_smoothing, reduction="none"
        )
        self.head_step = tf.function(lambda x, y: self._step(x, y, self.head_vars, self.head_optimizer))
        self.all_step = tf.function(lambda x, y: self._step(x, y, self.all_vars, self.all_optimizer))

    def load_weights(self, source_model, new_head: bool) -> None:
        """Copy the source's weights (all but the logits layer when `new_head`); EMA starts from them."""
        source = {w.path: w for w in source_model.weights}
        for w in self.model.weights:
            if new_head and w.path.startswith("logits/"):
                continue
            value = source.get(w.path)
            if value is None or tuple(value.shape) != tuple(w.shape):
                raise UserError(f"the source has no weight {w.path} of shape {tuple(w.shape)}")
            w.assign(value)
        for shadow, w in zip(self.ema, self.model.weights):
            shadow.assign(w)

    def _step(self, x, y, variables, optimizer):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            logits = self.logits_model(x, training=True)
            per_example = self._loss(tf.one_hot(y, self.config.num_classes), logits)
            loss = tf.reduce_mean(per_example)
            total = loss + (tf.add_n(self.model.losses) if self.model.losses else 0.0)
        grads = tape.gradient(total, variables)
        optimizer.apply_gradients(zip(grads, variables))
        self.steps.assign_add(1)
        t = tf.cast(self.steps, tf.float32)
        decay = tf.minimum(self.config.moving_average_decay, (1.0 + t) / (10.0 + t))
        for shadow, var in zip(self.ema, self.model.weights):
            shadow.assign_sub((1.0 - decay) * (shadow - tf.convert_to_tensor(var)))
        correct = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, axis=1), y), tf.float32))
        return total, correct

    def ema_model(self):
        from vwwdeploy.training.model import build_mobilenet_v1

        c = self.config
        model = build_mobilenet_v1(c.width, c.image_size, c.channels, c.num_classes, weight_decay=0.0)
        for w, shadow in zip(model.weights, self.ema):
            w.assign(shadow)
        return model

    def save(self, train_dir: Path, step: int) -> Path:
        from vwwdeploy.training.checkpoint import save_checkpoint

        optimizer_vars = list(self.head_optimizer.variables) + list(self.all_optimizer.variables)
        return save_checkpoint(train_dir, step, self.model.weights, optimizer_vars, self.ema)


def _check_fit(split, val, source: dict, new_head: bool, init_from) -> None:
    kinds = {1: "grayscale", 3: "RGB"}
    if split.channels != source["channels"]:
        hint = "; import it with `vwwdeploy import --grayscale`" if source["channels"] == 3 else ""
        raise UserError(
            f"{init_from} is a {kinds[source['channels']]} model but {split.path} holds "
            f"{kinds[split.channels]} images{hint}"
        )
    if source["image_size"] > split.size:
        raise UserError(f"{init_from} takes {source['image_size']}px input, the dataset stores {split.size}px")
    if list(val.label_names) != list(split.label_names):
        raise UserError(f"{split.path} and {val.path} have different classes")
    if list(split.label_names) != list(source["label_names"]) and not new_head:
        raise UserError(
            f"{init_from} was trained for classes {source['label_names']}, the dataset has "
            f"{list(split.label_names)}; add --new-head to train a new classifier head for them"
        )


def fine_tune(
    dataset,
    train_dir,
    init_from,
    *,
    max_steps: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    head_steps: int | None = None,
    backbone_lr_factor: float | None = None,
    eval_every_steps: int | None = None,
    new_head: bool = False,
    grayscale: bool = False,
    seed: int = 0,
    augment: bool = True,
    hparams: dict | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Fine-tune `init_from` on `dataset` (train/ to learn, val/ to pick the best step) into a new `train_dir`."""
    from vwwdeploy.atomic import check_writable_dir
    from vwwdeploy.data.store import open_split, resolve_split
    from vwwdeploy.training.evaluation import eval_pixels, predict_float
    from vwwdeploy.training.pipeline import train_dataset

    train_dir = Path(train_dir)
    split = open_split(resolve_split(dataset, "train"))
    val = open_split(resolve_split(dataset, "val"))
    if split.path.resolve() == val.path.resolve():
        raise UserError(
            f"{dataset} is one split; fine-tuning needs a dataset folder with train/ and val/ (the val split picks "
            "the best step), e.g. from `vwwdeploy dataset build --folders`"
        )
    if len(split) == 0 or len(val) == 0:
        raise UserError(f"{dataset}: fine-tuning needs a non-empty train/ and val/ split")
    if train_dir.exists() and any(train_dir.iterdir()):
        raise UserError(f"--train-dir {train_dir} is not empty; a fine-tune starts in a new folder")
    max_steps = DEFAULTS["max_steps"] if max_steps is None else max_steps
    batch_size = DEFAULTS["batch_size"] if batch_size is None else batch_size
    learning_rate = DEFAULTS["learning_rate"] if learning_rate is None else learning_rate
    factor = DEFAULTS["backbone_lr_factor"] if backbone_lr_factor is None else backbone_lr_factor
    every = DEFAULTS["eval_every_steps"] if eval_every_steps is None else eval_every_steps
    head_steps = max_steps // 3 if head_steps is None else head_steps
    for name, value, low in (("max steps", max_steps, 1), ("batch size", batch_size, 1), ("eval every", every, 1)):
        if value < low:
            raise UserError(f"{name} must be at least {low}, not {value}")
    if not 0 <= head_steps <= max_steps:
        raise UserError(f"--head-steps must be between 0 and --max-steps ({max_steps}), not {head_steps}")
    if learning_rate <= 0 or factor <= 0:
        raise UserError("--learning-rate and --backbone-lr-factor must be positive")
    check_writable_dir(train_dir)

    source_model, source, description = load_source(init_from, grayscale=grayscale, log=log)
    _check_fit(split, val, source, new_head, init_from)
    keep_head = list(split.label_names) == list(source["label_names"]) and not new_head
    config = TrainConfig(
        width=source["width"],
        image_size=source["image_size"],
        channels=source["channels"],
        num_classes=len(split.label_names),
        label_names=list(split.label_names),
        learning_rate=learning_rate,
        batch_size=batch_size,
        max_steps=max_steps,
        seed=seed,
        augment=augment,
        moving_average_decay=DEFAULTS["moving_average_decay"],
        dataset=str(split.path),
        train_examples=len(split),
        synthetic=split.synthetic,
    )
    config = replace(config, **{k: v for k, v in (hparams or {}).items() if v is not None})

    tuner = FineTuner(config, factor)
    tuner.load_weights(source_model, new_head=not keep_head)
    val_x, val_y = eval_pixels(val, config.image_size, config.channels)

    def val_accuracy() -> float:
        return float((predict_float(tuner.ema_model(), val_x).argmax(axis=1) == val_y).mean())

    train_dir.mkdir(parents=True, exist_ok=True)
    config.save(train_dir)
    record = {
        "init_from": str(init_from),
        "source": description,
        "new_head": not keep_head,
        "head_steps": head_steps,
        "backbone_lr_factor": factor,
        "eval_every_steps": every,
        "val_split": str(val.path),
        "val_count": int(len(val)),
        "history": [],
    }
    best = {"step": None, "accuracy": -1.0}

    def consider(step: int) -> None:
        acc = val_accuracy()
        record["history"].append({"step": step, "val_accuracy": acc})
        if acc > best["accuracy"]:
            best.update(step=step, accuracy=acc)
            tuner.save(train_dir, step)
            log(f"step {step}: val accuracy {acc:.4f} (best so far, checkpoint saved)")
        else:
            log(f"step {step}: val accuracy {acc:.4f} (best {best['accuracy']:.4f} at step {best['step']})")

    try:
        log(
            f"fine-tuning {config.describe_model()} from {description} on {len(split)} images "
            f"({', '.join(split.label_names)}); {'head kept' if keep_head else 'new head'}; "
            f"head only for {head_steps} steps at lr {learning_rate:g}, then all layers at lr "
            f"{learning_rate * factor:g}, to step {max_steps}"
        )
        if keep_head:
            record["start_val_accuracy"] = val_accuracy()
            best.update(step=0, accuracy=record["start_val_accuracy"])
            record["history"].append({"step": 0, "val_accuracy": best["accuracy"]})
            tuner.save(train_dir, 0)
            log(f"step 0 (start point): val accuracy {best['accuracy']:.4f}")
        started = time.monotonic()
        data = train_dataset(split, batch_size, seed, config.image_size, 0, max_steps, augment)
        step = 0
        for x, y in data:
            run = tuner.head_step if step < head_steps else tuner.all_step
            loss, _ = run(x, y)
            step += 1
            if not math.isfinite(float(loss)):
                raise UserError(f"loss became {float(loss)} at step {step}; lower --learning-rate")
            if step % every == 0 or step == max_steps:
                consider(step)
        record["seconds"] = round(time.monotonic() - started, 1)
    except BaseException:
        import shutil

        shutil.rmtree(train_dir, ignore_errors=True)  # a fine-tune that did not finish leaves nothing behind
        raise
    record.update(best_step=best["step"], best_val_accuracy=best["accuracy"])
    (train_dir / FINE_TUNE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log(f"best val accuracy {best['accuracy']:.4f} at step {best['step']}; checkpoint in {train_dir}")
    return record
