import numpy as np
import pytest
from conftest import UPSTREAM_EXPECTED_SCORES
from PIL import Image

from vwwdeploy.model.tflm_twin import TflmAbort, TflmTwin


def test_upstream_model_scores_match_upstream(upstream_model, upstream_test_images):
    with TflmTwin(upstream_model) as twin:
        assert twin.inputs[0].shape == (1, 96, 96, 1)
        assert twin.inputs[0].zero_point == -1
        assert twin.outputs[0].dtype == "int8"
        for name, path in upstream_test_images.items():
            pixels = np.asarray(Image.open(path), dtype=np.int16)
            x = (pixels - 128).astype(np.int8).reshape(1, 96, 96, 1)
            assert twin.invoke(x).ravel().tolist() == UPSTREAM_EXPECTED_SCORES[name]


def test_arena_is_measured_not_guessed(upstream_model):
    with TflmTwin(upstream_model) as twin:
        used = twin.arena_used()
    # x86-64 figure for this model; a Cortex-M4 build needs slightly less (smaller pointers).
    assert 70_000 < used < 100_000


def test_garbage_model_is_an_error_not_a_crash():
    with pytest.raises(TflmAbort):
        TflmTwin(b"not a flatbuffer" * 8)
