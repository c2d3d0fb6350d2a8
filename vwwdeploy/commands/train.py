"""Train MobileNetV1 (default: width 0.25, 96x96 grayscale, 2 classes) on a VWW dataset built by
`vwwdeploy dataset build`, with the seed's tf.slim defaults. Re-running on an existing --train-dir resumes
exactly where it stopped (step, optimizer and moving-average state). Ctrl-C saves a checkpoint.
TensorBoard summaries go to --train-dir (`tensorboard --logdir TRAIN_DIR`).

With --init-from (a train dir, e.g. from `vwwdeploy import`, or an int8 .tflite) it fine-tunes instead: the
classifier head alone first (--head-steps), then all layers at a lower learning rate (--backbone-lr-factor),
augmentation on, and the dataset's val/ split scored every --eval-every-steps steps; the new --train-dir ends
holding the best checkpoint by val accuracy. Fine-tune defaults: 300 steps, batch 32, learning rate 0.01.
Other classes than the source's need --new-head."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset", type=Path, required=True, help="dataset folder (its train/ split is used) or a split folder"
    )
    parser.add_argument("--train-dir", type=Path, required=True, help="checkpoints, config and summaries")
    parser.add_argument(
        "--max-steps", type=int, default=argparse.SUPPRESS, help="stop at this global step (default 1000000)"
    )
    parser.add_argument("--batch-size", type=int, default=argparse.SUPPRESS, help="examples per step (default 96)")
    parser.add_argument(
        "--learning-rate", type=float, default=argparse.SUPPRESS, help="initial learning rate (default 0.045)"
    )
    parser.add_argument(
        "--learning-rate-decay-factor", type=float, default=argparse.SUPPRESS, help="staircase decay (default 0.98)"
    )
    parser.add_argument(
        "--num-epochs-per-decay", type=float, default=argparse.SUPPRESS, help="epochs per decay (default 2.5)"
    )
    parser.add_argument("--label-smoothing", type=float, default=argparse.SUPPRESS, help="(default 0.1)")
    parser.add_argument(
        "--weight-decay", type=float, default=argparse.SUPPRESS, help="L2 on conv kernels (default 4e-5)"
    )
    parser.add_argument(
        "--moving-average-decay",
        type=float,
        default=argparse.SUPPRESS,
        help="EMA of the weights used for eval/export (default 0.9999)",
    )
    parser.add_argument(
        "--width", type=float, default=argparse.SUPPRESS, help="MobileNetV1 width multiplier (default 0.25)"
    )
    parser.add_argument("--image-size", type=int, default=argparse.SUPPRESS, help="model input size (default 96)")
    # Options left out keep the train dir's saved value on resume (else the slim default), hence SUPPRESS.
    color = parser.add_mutually_exclusive_group()
    color.add_argument(
        "--grayscale",
        dest="channels",
        action="store_const",
        const=1,
        default=argparse.SUPPRESS,
        help="1-channel model (default: as the dataset)",
    )
    color.add_argument(
        "--rgb", dest="channels", action="store_const", const=3, default=argparse.SUPPRESS, help="3-channel model"
    )
    parser.add_argument(
        "--no-augment",
        dest="augment",
        action="store_const",
        const=False,
        default=argparse.SUPPRESS,
        help="train on the eval preprocessing (central crop) instead of random augmentation",
    )
    parser.add_argument(
        "--seed", type=int, default=argparse.SUPPRESS, help="shuffling and augmentation seed (default 0)"
    )
    parser.add_argument(
        "--strategy",
        choices=["default", "mirrored", "multi-worker"],
        default="default",
        help="tf.distribute strategy (mirrored: all local GPUs; multi-worker: several machines, cluster from "
        "TF_CONFIG or --workers/--task-index)",
    )
    parser.add_argument(
        "--workers",
        metavar="HOST:PORT,...",
        default=None,
        help="with --strategy multi-worker: every worker's address, the same list on each machine (first = chief)",
    )
    parser.add_argument("--task-index", type=int, default=None, help="with --workers: this machine's place in it")
    tune = parser.add_argument_group("fine-tuning (--init-from)")
    tune.add_argument(
        "--init-from", type=Path, default=None, metavar="TRAIN_DIR|MODEL.tflite", help="start from this model"
    )
    tune.add_argument("--new-head", action="store_true", help="new classifier head for the dataset's classes")
    tune.add_argument("--head-steps", type=int, default=None, help="steps with the backbone frozen (default 1/3)")
    tune.add_argument(
        "--backbone-lr-factor", type=float, default=None, help="learning rate factor once all layers train (0.1)"
    )
    tune.add_argument("--eval-every-steps", type=int, default=None, help="score the val split every N steps (25)")
    parser.add_argument("--log-every-steps", type=int, default=10)
    parser.add_argument("--save-every-steps", type=int, default=None, help="checkpoint every N steps")
    parser.add_argument("--save-interval-secs", type=float, default=600.0, help="checkpoint every N seconds")
    parser.add_argument("--summary-every-steps", type=int, default=100, help="TensorBoard summaries every N steps")


def run(args: argparse.Namespace) -> int:
    from vwwdeploy.errors import UserError
    from vwwdeploy.training.loop import train
    from vwwdeploy.training.loss_window import describe as describe_loss

    if (args.workers is None) != (args.task_index is None):
        raise UserError("--workers and --task-index go together")
    if args.workers is not None:
        if args.strategy != "multi-worker":
            raise UserError("--workers needs --strategy multi-worker")
        from vwwdeploy.training.cluster import parse_workers, set_tf_config

        set_tf_config(parse_workers(args.workers), args.task_index)
    for name in ("log_every_steps", "summary_every_steps"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    given = lambda name: getattr(args, name, None)  # noqa: E731
    hparams = {
        k: given(k)
        for k in (
            "learning_rate_decay_factor",
            "num_epochs_per_decay",
            "label_smoothing",
            "weight_decay",
            "moving_average_decay",
            "augment",
        )
    }
    if args.init_from is not None:
        from vwwdeploy.training.fine_tune import fine_tune

        if given("width") is not None or given("image_size") is not None:
            raise UserError("--width and --image-size come from --init-from's model when fine-tuning")
        if given("channels") == 3:
            raise UserError("--rgb does not apply to --init-from (the model's input decides)")
        fine_tune(
            args.dataset,
            args.train_dir,
            args.init_from,
            max_steps=given("max_steps"),
            batch_size=given("batch_size"),
            learning_rate=given("learning_rate"),
            head_steps=args.head_steps,
            backbone_lr_factor=args.backbone_lr_factor,
            eval_every_steps=args.eval_every_steps,
            new_head=args.new_head,
            grayscale=given("channels") == 1 and str(args.init_from).endswith(".tflite"),
            seed=given("seed") or 0,
            augment=hparams["augment"] if hparams["augment"] is not None else True,
            hparams={k: v for k, v in hparams.items() if k != "augment"},
            log=lambda line: print(line, flush=True),
        )
        return 0
    result = train(
        args.dataset,
        args.train_dir,
        max_steps=given("max_steps"),
        batch_size=given("batch_size"),
        learning_rate=given("learning_rate"),
        width=given("width"),
        image_size=given("image_size"),
        channels=given("channels"),
        strategy=args.strategy,
        seed=given("seed"),
        log_every_steps=args.log_every_steps,
        save_every_steps=args.save_every_steps,
        save_interval_secs=args.save_interval_secs,
        summary_every_steps=args.summary_every_steps,
        hparams=hparams,
        log=lambda line: print(line, flush=True),
    )
    print(f"trained to global step {result['step']}: {describe_loss(result.get('smoothed_loss'))}", flush=True)
    return 0
