"""The train loop: slim's train_image_classifier semantics on Keras 3 / TensorFlow.

One compiled step does: batch-norm momentum and EMA decay warm-up from the step count, forward and
backward pass (label-smoothed cross entropy + L2 weight decay), RMSProp update, EMA update. All state
(model, optimizer, EMA) changes inside that one call, so stopping between calls (Ctrl-C, checkpoint) always
sees a consistent state; the step count is the optimizer's `iterations`.

Moving averages warm up as slim's ExponentialMovingAverage with num_updates does:
decay_t = min(decay, (1 + t) / (10 + t)). Batch-norm moving statistics use the same warm-up of slim's
0.9997, so a run of a few hundred steps already evaluates sensibly; after ~30k steps both are slim's values.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.training import summaries
from vwwdeploy.training.checkpoint import latest_checkpoint, restore_checkpoint, save_checkpoint
from vwwdeploy.training.config import CONFIG_FILE, MODEL_FIELDS, TrainConfig
from vwwdeploy.training.loss_window import LossWindow

STRATEGIES = ("default", "mirrored", "multi-worker")


def _make_strategy(name: str):
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        from vwwdeploy.training.cluster import tf_config

        tf_config()  # one clear line instead of TensorFlow's silent single-worker fallback
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UserError(f"unknown strategy {name!r} (choose from {', '.join(STRATEGIES)})")


class Trainer:
    """Model, optimizer, EMA shadows and the compiled train step for one TrainConfig."""

    def __init__(self, config: TrainConfig, strategy: str = "default"):
        import keras
        import tensorflow as tf

        from vwwdeploy.training.model import BN_DECAY, batch_norm_layers, build_mobilenet_v1, logits_model

        self.config = config
        self.strategy = _make_strategy(strategy)
        self.replicas = self.strategy.num_replicas_in_sync
        if config.batch_size % self.replicas:
            raise UserError(f"batch size {config.batch_size} does not split over {self.replicas} replicas")
        # Seeded initial weights: two runs of one config are the same run (and a resumed one equals both).
        keras.utils.set_random_seed(config.seed)
        with self.strategy.scope():
            self.model = build_mobilenet_v1(
                config.width, config.image_size, config.channels, config.num_classes, config.weight_decay
            )
            self.logits_model = logits_model(self.model)
            self.schedule = keras.optimizers.schedules.ExponentialDecay(
                config.learning_rate, config.decay_steps(), config.learning_rate_decay_factor, staircase=True
            )
            # TF1's RMSPropOptimizer (slim's) is this update with decay=rho; it starts the mean square at
            # 1.0 where Keras starts at 0, which epsilon=1.0 makes a small early difference.
            self.optimizer = keras.optimizers.RMSprop(
                learning_rate=self.schedule,
                rho=config.rmsprop_decay,
                momentum=config.rmsprop_momentum,
                epsilon=config.rmsprop_epsilon,
            )
            self.optimizer.build(self.model.trainable_variables)
            self.ema = [
                tf.Variable(w.numpy(), trainable=False, name=f"ema_{i}") for i, w in enumerate(self.model.weights)
            ]
            self.bn_momentum = tf.Variable(BN_DECAY, trainable=False, dtype=tf.float32, name="bn_momentum")
        for layer in batch_norm_layers(self.model):
            layer.momentum = self.bn_momentum  # read at run time by the compiled step
        self._loss = keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=config.label_smoothing, reduction="none"
        )
        self._bn_decay = BN_DECAY
        self.train_step = tf.function(self._train_step)

    @property
    def optimizer_variables(self):
        return list(self.optimizer.variables)

    @property
    def step(self) -> int:
        return int(self.optimizer.iterations.numpy())

    def _replica_step(self, x, y):
        import tensorflow as tf

        trainable = self.model.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.logits_model(x, training=True)
            per_example = self._loss(tf.one_hot(y, self.config.num_classes), logits)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=self.config.batch_size)
            reg = tf.add_n(self.model.losses) / self.replicas if self.model.losses else 0.0
            total = loss + reg
        grads = tape.gradient(total, trainable)
        self.optimizer.apply_gradients(zip(grads, trainable))
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, axis=1), y), tf.float32))
        return total, correct

    def _train_step(self, x, y):
        import tensorflow as tf

        step = self.optimizer.iterations
        t = tf.cast(step, tf.float32)
        warm = (1.0 + t) / (10.0 + t)
        self.bn_momentum.assign(tf.minimum(self._bn_decay, warm))
        lr = self.schedule(step)
        total, correct = self.strategy.run(self._replica_step, args=(x, y))
        total = self.strategy.reduce(tf.distribute.ReduceOp.SUM, total, axis=None)
        correct = self.strategy.reduce(tf.distribute.ReduceOp.SUM, correct, axis=None)
        decay = tf.minimum(self.config.moving_average_decay, warm)
        for shadow, var in zip(self.ema, self.model.weights):
            shadow.assign_sub((1.0 - decay) * (shadow - tf.convert_to_tensor(var)))
        return total, correct / self.config.batch_size, lr

    def distribute(self, x, y):
        """Split a global batch over replicas (identity on one device)."""
        if self.replicas == 1:
            return x, y
        n = self.replicas
        per = self.config.batch_size // n
        return self.strategy.experimental_distribute_values_from_function(
            lambda ctx: (
                x[ctx.replica_id_in_sync_group * per : (ctx.replica_id_in_sync_group + 1) * per],
                y[ctx.replica_id_in_sync_group * per : (ctx.replica_id_in_sync_group + 1) * per],
            )
        )

    def save(self, train_dir: Path) -> Path:
        return save_checkpoint(train_dir, self.step, self.model.weights, self.optimizer_variables, self.ema)

    def restore(self, path: Path) -> int:
        return restore_checkpoint(path, self.model.weights, self.optimizer_variables, self.ema)


def _resolve_config(dataset_split, train_dir: Path, requested: dict, log) -> tuple[TrainConfig, bool]:
    """The config to train with: the train dir's own (resume) or a new one; refuses another model."""
    existing = (train_dir / CONFIG_FILE).is_file()
    if existing:
        config = TrainConfig.load(train_dir)
        clashes = [
            f"{name} {getattr(config, name)} (asked {requested[name]})"
            for name in MODEL_FIELDS
            if requested.get(name) is not None and requested[name] != getattr(config, name)
        ]
        if clashes:
            raise UserError(
                f"{train_dir} holds another model configuration ({', '.join(clashes)}); use a new --train-dir"
            )
        changed = {
            k: v for k, v in requested.items() if v is not None and k not in MODEL_FIELDS and getattr(config, k) != v
        }
        if changed:
            log(f"resuming with changed settings: {', '.join(f'{k}={v}' for k, v in changed.items())}")
            config = replace(config, **changed)
    else:
        if train_dir.exists() and any(train_dir.iterdir()):
            raise UserError(
                f"{train_dir} is not empty and is not a vwwdeploy train dir (no {CONFIG_FILE}); "
                "choose another --train-dir"
            )
        config = TrainConfig(**{k: v for k, v in requested.items() if v is not None})
    if dataset_split.channels != config.channels:
        kinds = {1: "grayscale", 3: "RGB"}
        raise UserError(
            f"{dataset_split.path} holds {kinds[dataset_split.channels]} images but the model is "
            f"{kinds.get(config.channels, config.channels)}; rebuild the dataset or change --rgb/--grayscale"
        )
    if len(dataset_split.label_names) != config.num_classes:
        raise UserError(
            f"{dataset_split.path} has {len(dataset_split.label_names)} classes, the model {config.num_classes}"
        )
    return config, existing


def train(
    dataset,
    train_dir,
    *,
    max_steps: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    width: float | None = None,
    image_size: int | None = None,
    channels: int | None = None,
    strategy: str = "default",
    seed: int | None = None,
    log_every_steps: int = 10,
    save_every_steps: int | None = None,
    save_interval_secs: float = 600.0,
    summary_every_steps: int = 100,
    hparams: dict | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Train (or resume) MobileNetV1 on a dataset's train split into `train_dir`.

    `dataset` is a split folder or a dataset folder (its train/ is used). Arguments left None keep the
    train dir's saved value when resuming, else the slim defaults of TrainConfig. `hparams` may override
    other TrainConfig fields (learning_rate_decay_factor, num_epochs_per_decay, label_smoothing,
    weight_decay, moving_average_decay, rmsprop_*). Returns a summary dict: train_dir, start_step, step,
    loss, accuracy (last logged), history [(step, loss, accuracy)], smoothed_loss (LossWindow.summary() of
    this run's steps), checkpoint, interrupted.
    Ctrl-C (SIGINT) saves a checkpoint, then raises KeyboardInterrupt.
    """
    from vwwdeploy.data.store import open_split, resolve_split

    train_dir = Path(train_dir)
    split = open_split(resolve_split(dataset, "train"))
    if len(split) == 0:
        raise UserError(f"{split.path} is an empty split; nothing to train on")
    if batch_size is not None and batch_size < 1:
        raise UserError(f"batch size must be at least 1, not {batch_size}")
    if max_steps is not None and max_steps < 0:
        raise UserError(f"max steps must be >= 0, not {max_steps}")
    requested = dict(
        width=width,
        image_size=image_size,
        channels=channels if channels is not None else split.channels,
        num_classes=len(split.label_names),
        max_steps=max_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        **(hparams or {}),
    )
    config, resuming = _resolve_config(split, train_dir, requested, log)
    if not resuming:
        config = replace(
            config,
            label_names=list(split.label_names),
            dataset=str(split.path),
            train_examples=len(split),
            synthetic=split.synthetic,
        )
    if config.image_size > split.size:
        raise UserError(f"model input {config.image_size} is larger than the dataset's stored size {split.size}")

    from vwwdeploy.atomic import check_writable_dir

    # Under multi-worker every worker trains, but only the chief writes the train dir; the others resume
    # from it, so it must be one folder they all see (a shared file system) for a restart to be exact.
    chief = True
    if strategy == "multi-worker":
        from vwwdeploy.training.cluster import is_chief, tf_config

        chief = is_chief(tf_config())
    check_writable_dir(train_dir)
    if chief:
        train_dir.mkdir(parents=True, exist_ok=True)
        config.save(train_dir)

    import tensorflow as tf

    trainer = Trainer(config, strategy)
    ckpt = latest_checkpoint(train_dir)
    if ckpt is not None:
        trainer.restore(ckpt)
        log(f"resumed from {ckpt.name} at global step {trainer.step}")
    start_step = trainer.step
    summary = {
        "train_dir": str(train_dir),
        "start_step": start_step,
        "step": start_step,
        "loss": None,
        "accuracy": None,
        "history": [],
        "smoothed_loss": None,
        "checkpoint": str(ckpt) if ckpt else None,
        "interrupted": False,
        "synthetic": config.synthetic,
    }
    if start_step >= config.max_steps:
        log(f"global step {start_step} already reached max steps {config.max_steps}; nothing to do")
        if ckpt is None and chief:
            summary["checkpoint"] = str(trainer.save(train_dir))
        return summary

    log(
        f"training {config.describe_model()} on {len(split)} images from {split.path}"
        + (" [SYNTHETIC images]" if config.synthetic else "")
        + f"; batch {config.batch_size}, steps {start_step}..{config.max_steps}"
    )
    data = iter(_pipeline(split, config, start_step))
    writer = tf.summary.create_file_writer(str(train_dir)) if chief else tf.summary.create_noop_writer()

    interrupted = {"flag": False}
    previous_handler = None
    try:
        previous_handler = signal.signal(signal.SIGINT, lambda *_: interrupted.__setitem__("flag", True))
    except ValueError:  # not the main thread: Ctrl-C is not ours to catch
        previous_handler = None

    last_save_time = time.monotonic()
    last_log_time, last_log_step = time.monotonic(), start_step
    step = start_step
    losses = LossWindow()
    try:
        for x, y in data:
            total, accuracy, lr = trainer.train_step(*trainer.distribute(x, y))
            step += 1
            losses.add(total)  # a tensor: read once at the end, so no extra device sync per step
            if step % log_every_steps == 0 or step == config.max_steps:
                loss_v, acc_v = float(total), float(accuracy)
                now = time.monotonic()
                sec_per_step = (now - last_log_time) / max(1, step - last_log_step)
                last_log_time, last_log_step = now, step
                if not math.isfinite(loss_v):
                    raise UserError(f"loss became {loss_v} at global step {step}; lower --learning-rate")
                log(f"global step {step}: loss = {loss_v:.4f} ({sec_per_step:.3f} sec/step)")
                summary["history"].append((step, loss_v, acc_v))
                summary.update(step=step, loss=loss_v, accuracy=acc_v)
            if step % summary_every_steps == 0 or step == config.max_steps:
                with writer.as_default():
                    summaries.scalar("losses/total_loss", total, step)
                    summaries.scalar("learning_rate", lr, step)
                    summaries.scalar("train/accuracy", accuracy, step)
                    summaries.images("input_images", (x + 1.0) / 2.0, step)
                writer.flush()
            if interrupted["flag"]:
                break
            due_by_steps = save_every_steps and step % save_every_steps == 0
            due_by_time = save_interval_secs and time.monotonic() - last_save_time >= save_interval_secs
            if chief and (due_by_steps or due_by_time) and step < config.max_steps:
                trainer.save(train_dir)
                last_save_time = time.monotonic()
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
        writer.close()
    summary["smoothed_loss"] = losses.summary()
    summary["step"] = trainer.step
    if chief:
        summary["checkpoint"] = str(trainer.save(train_dir))
        log(f"saved checkpoint at global step {trainer.step} in {train_dir}")
    if interrupted["flag"]:
        summary["interrupted"] = True
        raise KeyboardInterrupt
    return summary


def _pipeline(split, config: TrainConfig, start_step: int):
    from vwwdeploy.training.pipeline import train_dataset

    return train_dataset(
        split, config.batch_size, config.seed, config.image_size, start_step, config.max_steps, config.augment
    )
