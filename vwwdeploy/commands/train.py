"""Train MobileNetV1 (default: width 0.25, 96x96 grayscale, 2 classes) on a VWW dataset built by
`vwwdeploy dataset build`, with the seed's tf.slim defaults. Re-running on an existing --train-dir resumes
exactly where it stopped (step, optimizer and moving-average state). Ctrl-C saves a checkpoint.
TensorBoard summaries go to --train-dir (`tensorboard --logdir TRAIN_DIR`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", type=Path, required=True,
                        help="dataset folder (its train/ split is used) or a split folder")
    parser.add_argument("--train-dir", type=Path, required=True, help="checkpoints, config and summaries")
    parser.add_argument("--max-steps", type=int, default=None, help="stop at this global step (default 1000000)")
    parser.add_argument("--batch-size", type=int, default=None, help="examples per step (default 96)")
    parser.add_argument("--learning-rate", type=float, default=None, help="initial learning rate (default 0.045)")
    parser.add_argument("--learning-rate-decay-factor", type=float, default=None, help="staircase decay (default 0.98)")
    parser.add_argument("--num-epochs-per-decay", type=float, default=None, help="epochs per decay (default 2.5)")
    parser.add_argument("--label-smoothing", type=float, default=None, help="(default 0.1)")
    parser.add_argument("--weight-decay", type=float, default=None, help="L2 on conv kernels (default 4e-5)")
    parser.add_argument("--moving-average-decay", type=float, default=None,
                        help="EMA of the weights used for eval/export (default 0.9999)")
    parser.add_argument("--width", type=float, default=None, help="MobileNetV1 width multiplier (default 0.25)")
    parser.add_argument("--image-size", type=int, default=None, help="model input size (default 96)")
    color = parser.add_mutually_exclusive_group()
    color.add_argument("--grayscale", dest="channels", action="store_const", const=1,
                       help="1-channel model (default: as the dataset)")
    color.add_argument("--rgb", dest="channels", action="store_const", const=3, help="3-channel model")
    parser.add_argument("--seed", type=int, default=None, help="shuffling and augmentation seed (default 0)")
    parser.add_argument("--strategy", choices=["default", "mirrored"], default="default",
                        help="tf.distribute strategy (mirrored: all local GPUs)")
    parser.add_argument("--log-every-steps", type=int, default=10)
    parser.add_argument("--save-every-steps", type=int, default=None, help="checkpoint every N steps")
    parser.add_argument("--save-interval-secs", type=float, default=600.0, help="checkpoint every N seconds")
    parser.add_argument("--summary-every-steps", type=int, default=100, help="TensorBoard summaries every N steps")


def run(args: argparse.Namespace) -> int:
    from vwwdeploy.errors import UserError
    from vwwdeploy.training.loop import train

    for name in ("log_every_steps", "summary_every_steps"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    hparams = {k: getattr(args, k) for k in ("learning_rate_decay_factor", "num_epochs_per_decay",
                                             "label_smoothing", "weight_decay", "moving_average_decay")}
    train(args.dataset, args.train_dir, max_steps=args.max_steps, batch_size=args.batch_size,
          learning_rate=args.learning_rate, width=args.width, image_size=args.image_size,
          channels=args.channels, strategy=args.strategy, seed=args.seed,
          log_every_steps=args.log_every_steps, save_every_steps=args.save_every_steps,
          save_interval_secs=args.save_interval_secs, summary_every_steps=args.summary_every_steps,
          hparams=hparams, log=lambda line: print(line, flush=True))
    return 0
