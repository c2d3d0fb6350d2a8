"""Training input pipeline cost (issue 2 section 3), measured side by side in one run on this machine.

Step time with the real input pipeline (memory-mapped store -> gather -> batched augmentation in tf.data,
prefetched) divided by step time on in-memory tensors (one augmented batch already in memory, fed to the same
compiled train step): same model (MobileNetV1 0.25, 96x96x1), same batch. Blocks of steps alternate between
the two so that load from other processes hits both alike; the ratio of the totals is reported.
Target: <= 1.05 (the pipeline hides behind the step). Also reported: process CPU time per step (all threads,
so it includes tf.data's gather and augmentation), the pipeline's cost when no core is left to hide it.

Usage: python3 bench/bench_train.py [--batch-size 96] [--steps 20] [--rounds 4] [--images 1024] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vwwdeploy.data.store import open_split, write_split  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=96)
    parser.add_argument("--steps", type=int, default=20, help="steps per block")
    parser.add_argument("--rounds", type=int, default=4, help="alternating blocks of each kind")
    parser.add_argument("--images", type=int, default=1024, help="images in the temporary 128x128 store")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()

    from vwwdeploy.training.config import TrainConfig
    from vwwdeploy.training.loop import Trainer
    from vwwdeploy.training.pipeline import train_dataset

    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (args.images, 128, 128), dtype=np.uint8)
        labels = (np.arange(args.images) % 2).tolist()
        ids = [str(i) for i in range(args.images)]
        write_split(Path(tmp) / "train", images, ids, ids, labels, shard_size=256)
        split = open_split(Path(tmp) / "train")

        config = TrainConfig(batch_size=args.batch_size, train_examples=len(split))
        trainer = Trainer(config)
        total_steps = 2 + args.rounds * args.steps
        pipeline = iter(train_dataset(split, args.batch_size, 0, 96, 0, total_steps))
        x0, y0 = next(pipeline)
        trainer.train_step(x0, y0)  # compile
        trainer.train_step(*next(pipeline))
        memory_x, memory_y = x0, y0  # already augmented, in memory

        real, memory, real_cpu, memory_cpu = 0.0, 0.0, 0.0, 0.0
        for _ in range(args.rounds):
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.steps):
                loss, _, _ = trainer.train_step(*next(pipeline))
            float(loss)
            real += time.perf_counter() - start
            real_cpu += time.process_time() - cpu
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.steps):
                loss, _, _ = trainer.train_step(memory_x, memory_y)
            float(loss)
            memory += time.perf_counter() - start
            memory_cpu += time.process_time() - cpu

    n = args.rounds * args.steps
    ratio = real / memory
    if args.markdown:
        print("| measurement | in-memory tensors | real input pipeline | real / in-memory |")
        print("|---|---|---|---|")
        print(
            f"| train step, MobileNetV1 0.25 96x96x1, batch {args.batch_size} ({n} steps each) | "
            f"{1000 * memory / n:.1f} ms | {1000 * real / n:.1f} ms | {ratio:.3f} |"
        )
        print(
            f"| process CPU time per step (all threads), same blocks | {1000 * memory_cpu / n:.1f} ms | "
            f"{1000 * real_cpu / n:.1f} ms | {real_cpu / memory_cpu:.3f} |"
        )
    else:
        print(
            f"in-memory: {1000 * memory / n:.1f} ms/step, real pipeline: {1000 * real / n:.1f} ms/step, "
            f"ratio {ratio:.3f} (target <= 1.05); CPU time per step ratio {real_cpu / memory_cpu:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
