"""The mean classifier: a stand-in for the TFLM twin whose output says which input it was given.

The same function as `FakeClassifier` in firmware/tests/fakes.h, so the simulated board and the C++
command loop answer the device-behaviour vectors (tests/vectors/device/) with the same RESULT bytes:
output [1, 2] int8, score[1] = clamp(mean of the int8 input truncated toward zero, -127, 127),
score[0] = -score[1].
"""

from __future__ import annotations

import numpy as np

from vwwdeploy.errors import UserError
from vwwdeploy.model.tflm_twin import TensorSpec


class MeanClassifier:
    """Has the parts of `TflmTwin` the simulated board uses: inputs, outputs, invoke, arena_used, close."""

    def __init__(
        self,
        input_shape: tuple[int, ...] = (1, 96, 96, 1),
        fail: bool = False,
        scale: float = 2 / 255,
        zero_point: int = -1,
    ):
        self.inputs = [TensorSpec(tuple(input_shape), "int8", scale, zero_point)]
        self.outputs = [TensorSpec((1, 2), "int8", 1 / 256, -128)]
        self.fail = fail  # every invoke fails, as a TFLM abort would
        self.invokes = 0

    def invoke(self, x: np.ndarray) -> np.ndarray:
        self.invokes += 1
        if self.fail:
            raise UserError("mean classifier: invoke failed (scripted)")
        total = int(np.asarray(x, dtype=np.int64).sum())
        mean = abs(total) // x.size * (1 if total >= 0 else -1)
        mean = max(-127, min(127, mean))
        return np.array([[-mean, mean]], dtype=np.int8)

    def arena_used(self) -> int:
        return 0

    def close(self) -> None:
        pass
