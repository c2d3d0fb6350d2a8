"""Line-noise injection for the simulated link: per-byte drop, bit flip and insert, and board resets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FaultConfig:
    drop: float = 0.0  # probability that a byte is lost
    flip: float = 0.0  # probability that one bit of a byte is inverted
    insert: float = 0.0  # probability that a random byte appears before a byte
    reset_every: int = 0  # reset the board (state lost, boot INFO sent) at every Nth received request; 0 = never
    seed: int = 0

    @classmethod
    def uniform(cls, rate: float, reset_every: int = 0, seed: int = 0) -> "FaultConfig":
        """A per-byte fault probability `rate`, split equally between drop, flip and insert
        (`vwwdeploy sim --fault-rate`): a byte is hit by some fault with probability ~rate."""
        return cls(rate / 3, rate / 3, rate / 3, reset_every, seed)

    @property
    def active(self) -> bool:
        return bool(self.drop or self.flip or self.insert)


class ByteFaults:
    """Applies a FaultConfig to one direction of the link; counts what it did."""

    def __init__(self, config: FaultConfig, stream: int):
        self.config = config
        self.rng = np.random.default_rng([config.seed, stream])
        self.dropped = self.flipped = self.inserted = 0

    def apply(self, data: bytes) -> bytes:
        c = self.config
        if not c.active or not data:
            return data
        n = len(data)
        arr = np.frombuffer(data, dtype=np.uint8).copy()
        if c.flip:
            flips = self.rng.random(n) < c.flip
            k = int(flips.sum())
            if k:
                arr[flips] ^= (1 << self.rng.integers(0, 8, size=k)).astype(np.uint8)
                self.flipped += k
        keep = np.ones(n, bool)
        if c.drop:
            keep = self.rng.random(n) >= c.drop
            self.dropped += int(n - keep.sum())
        if c.insert:
            ins = np.flatnonzero(self.rng.random(n) < c.insert)
            if ins.size:
                self.inserted += int(ins.size)
                values = self.rng.integers(0, 256, size=ins.size, dtype=np.uint8)
                kept_before = np.cumsum(keep)[ins] - keep[ins]  # position among the kept bytes
                out = np.insert(arr[keep], kept_before, values)
                return out.tobytes()
        return arr[keep].tobytes()
