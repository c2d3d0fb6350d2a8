"""Training batches from the dataset store, as a prefetched tf.data pipeline.

The batch of step s is a pure function of (seed, s): the example stream is the concatenation of one
seeded permutation per epoch, and augmentation uses stateless random numbers seeded by (seed, s).
So a run resumed at step s sees exactly the batches an uninterrupted run would have seen.

Reading a batch is a gather from memory-mapped uint8 shards (no decoding); augmentation runs batched in
TensorFlow on tf.data's threads, overlapping the training step.
"""

from __future__ import annotations

import threading

import numpy as np

from vwwdeploy.data.store import DatasetSplit
from vwwdeploy.training.preprocess import augment_batch


class BatchIndexer:
    """Which examples make up the batch of a given step."""

    def __init__(self, count: int, batch_size: int, seed: int):
        if count <= 0:
            raise ValueError("empty split")
        self.count, self.batch_size, self.seed = count, batch_size, seed
        self._perms: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def _permutation(self, epoch: int) -> np.ndarray:
        with self._lock:
            perm = self._perms.get(epoch)
            if perm is None:
                perm = np.random.default_rng([self.seed, epoch]).permutation(self.count)
                # keep the few epochs in flight (prefetching threads may straddle an epoch boundary)
                for old in [e for e in self._perms if e < epoch - 2]:
                    del self._perms[old]
                self._perms[epoch] = perm
            return perm

    def indices(self, step: int) -> np.ndarray:
        start = step * self.batch_size
        out = np.empty(self.batch_size, dtype=np.int64)
        filled = 0
        while filled < self.batch_size:
            epoch, offset = divmod(start + filled, self.count)
            take = min(self.batch_size - filled, self.count - offset)
            out[filled : filled + take] = self._permutation(epoch)[offset : offset + take]
            filled += take
        return out


def train_dataset(
    split: DatasetSplit,
    batch_size: int,
    seed: int,
    image_size: int,
    start_step: int,
    end_step: int,
    augment: bool = True,
):
    """tf.data.Dataset of (float images [B, H, W, C], int64 labels [B]) for steps start_step..end_step-1.

    augment=False feeds the eval preprocessing (central crop) instead of the random augmentation."""
    import tensorflow as tf

    indexer = BatchIndexer(len(split), batch_size, seed)
    labels_all = split.labels
    shape = (batch_size, *split.image_shape)

    def load(step):
        idx = indexer.indices(int(step))
        return split.images(idx), labels_all[idx]

    def make_batch(step):
        images, labels = tf.numpy_function(load, [step], [tf.uint8, tf.int64], stateful=False)
        images.set_shape(shape)
        labels.set_shape((batch_size,))
        x = augment_batch(images, tf.stack([tf.constant(seed, tf.int64), step]), image_size, augment)
        return x, labels

    ds = tf.data.Dataset.range(start_step, end_step)
    ds = ds.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
