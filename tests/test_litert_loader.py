"""One LiteRT loader (vwwdeploy/model/litert.py) with one answer to the upstream model's bias quantized_dimension."""

from __future__ import annotations

import numpy as np
import pytest

from vwwdeploy.errors import UserError
from vwwdeploy.model import litert
from vwwdeploy.testing.tiny_models import tiny_model

pytest.importorskip("ai_edge_litert")


def test_a_model_that_loads_as_is_is_not_touched():
    loaded = litert.load(tiny_model("int8").read_bytes())
    assert loaded.repaired is None
    assert loaded.interpreter.get_input_details()[0]["dtype"] == np.int8


def test_the_upstream_model_loads_repaired_in_memory_and_says_so(upstream_model):
    data = upstream_model.read_bytes()
    with pytest.raises(ValueError, match="quantized_dimension"):
        litert.open_interpreter(data)  # the file as it is: LiteRT refuses it
    loaded = litert.load(data, "person_detect.tflite")
    assert "person_detect.tflite" in loaded.repaired and "14 tensors' quantized_dimension set to 0" in loaded.repaired
    assert upstream_model.read_bytes() == data  # in memory only


@pytest.mark.parametrize("resolver", litert.RESOLVERS)
def test_every_caller_gets_the_same_repaired_outputs(upstream_model, resolver):
    """evaluate (builtin), validate (default) and import (builtin, all tensors) score the same int8 outputs
    as LiteRT's reference kernels on the repaired copy."""
    data = upstream_model.read_bytes()
    x = np.random.default_rng(0).integers(-128, 128, size=(1, 96, 96, 1), dtype=np.int8)

    def run(loaded):
        interp = loaded.interpreter
        interp.set_tensor(interp.get_input_details()[0]["index"], x)
        interp.invoke()
        return interp.get_tensor(interp.get_output_details()[0]["index"]).copy()

    reference = run(litert.load(data, resolver="reference"))
    assert np.abs(run(litert.load(data, resolver=resolver)).astype(int) - reference).max() <= 1


def test_other_refusals_are_one_line_with_a_hint(tmp_path):
    with pytest.raises(UserError, match=r"LiteRT cannot load junk\.tflite: .*\(try `vwwdeploy inspect`\)"):
        litert.load(b"not a flatbuffer at all" * 4, "junk.tflite")
