"""inspect --fix: repairs wrong quantized_dimension in place and proves the outputs unchanged."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from conftest import UPSTREAM_EXPECTED_SCORES
from PIL import Image

from vwwdeploy.cli import main
from vwwdeploy.errors import UserError
from vwwdeploy.model import fix as fixmod
from vwwdeploy.model import fix_model, inspect_model
from vwwdeploy.model.runtimes import litert_probe, tflm_probe
from vwwdeploy.model.schema import read_model
from vwwdeploy.model.writer import edit_model
from vwwdeploy.testing.tiny_models import tiny_model


def _images(upstream_test_images):
    names = sorted(upstream_test_images)
    xs = np.stack(
        [
            (np.asarray(Image.open(upstream_test_images[n]), dtype=np.int16) - 128)
            .astype(np.int8)
            .reshape(1, 96, 96, 1)
            for n in names
        ]
    )
    return names, xs


def test_upstream_model_real_case(upstream_model, upstream_test_images, tmp_path, capsys):
    out = tmp_path / "fixed.tflite"
    assert main(["inspect", "--fix", str(upstream_model), str(out)]) == 0
    assert "14 tensor(s)" in capsys.readouterr().err

    original, fixed = upstream_model.read_bytes(), out.read_bytes()
    repaired, names = fixmod.patch_quantized_dimensions(original)  # fix_model_bytes without the proof
    assert fixed == repaired and len(names) == 14
    # Only the quantized_dimension fields of the 14 bias tensors changed, nothing else.
    fields = [
        t.quantization.quantized_dimension_pos
        for t in read_model(original).subgraphs[0].tensors
        if t.quantization and t.quantization.quantized_dimension == 3 and len(t.shape) == 1
    ]
    assert len(fields) == 14
    changed = [i for i, (a, b) in enumerate(zip(original, fixed)) if a != b]
    assert changed and all(any(p <= i < p + 4 for p in fields) for i in changed)
    for t in read_model(fixed).subgraphs[0].tensors:
        if t.quantization and len(t.shape) == 1:
            assert t.quantization.quantized_dimension == 0

    names, xs = _images(upstream_test_images)
    expected = [UPSTREAM_EXPECTED_SCORES[n] for n in names]
    assert litert_probe(original).loaded is False
    lite = litert_probe(fixed, xs)
    assert lite.loaded, lite.error
    assert lite.outputs.reshape(len(names), -1).tolist() == expected
    assert tflm_probe(fixed, xs).outputs.reshape(len(names), -1).tolist() == expected

    report = inspect_model(out)
    assert report["problems"] == [] and report["loads"]["litert"] is True


def _set_quantized_dimension(data: bytes, pick) -> bytes:
    def edit(m):
        for i, t in enumerate(m.subgraphs[0].tensors):
            qd = pick(i, t)
            if qd is not None:
                t.quantization.quantizedDimension = qd

    return edit_model(data, edit)


def _bias_and_activation_defects(i, t):
    q = t.quantization
    if q is None or q.scale is None:
        return None
    if len(t.shape) == 1 and len(q.scale) > 1:
        return 2  # per-channel bias: out of range for rank 1 (what the upstream model has)
    if len(q.scale) == 1 and len(t.shape) == 4:
        return 3  # per-tensor activation: meaningless but in range
    return None


def test_planted_defects_on_a_trained_model(tmp_path):
    broken = _set_quantized_dimension(tiny_model("int8").read_bytes(), _bias_and_activation_defects)
    src = tmp_path / "broken.tflite"
    src.write_bytes(broken)
    assert not inspect_model(src)["loads"]["litert"]
    result = fix_model(src, tmp_path / "fixed.tflite")
    assert len(result.fixed_tensors) >= 4 and result.proof_inputs > 10
    report = inspect_model(tmp_path / "fixed.tflite")
    assert report["problems"] == [] and report["loads"]["litert"]


def test_unfixable_quantized_dimension_is_refused(tmp_path):
    def depthwise_weights_out_of_range(i, t):
        q = t.quantization
        if q is not None and q.scale is not None and len(t.shape) == 4 and t.shape[0] == 1 and len(q.scale) > 1:
            return 9  # 8 scales, shape [1,3,3,8]: no dimension 0 fix keeps the math
        return None

    src = tmp_path / "bad.tflite"
    src.write_bytes(_set_quantized_dimension(tiny_model("int8").read_bytes(), depthwise_weights_out_of_range))
    out = tmp_path / "out.tflite"
    with pytest.raises(UserError, match="no dimension choice keeps its math"):
        fix_model(src, out)
    assert not out.exists()


def test_repair_that_changes_outputs_is_not_written(tmp_path, monkeypatch):
    src = tmp_path / "broken.tflite"
    src.write_bytes(_set_quantized_dimension(tiny_model("int8").read_bytes(), _bias_and_activation_defects))
    honest = fixmod.patch_quantized_dimensions

    def sabotaged(data):
        patched, names = honest(data)
        model = read_model(patched)
        sg = model.subgraphs[0]
        logits = [op for op in sg.operators if model.op_name(op) == "CONV_2D"][-1]
        # Force class 0 whatever the input: the outputs must change.
        pos = _buffer_data_pos(patched, sg.tensors[logits.inputs[2]].buffer)
        b = bytearray(patched)
        struct.pack_into("<ii", b, pos, 1 << 28, -(1 << 28))
        return bytes(b), names

    monkeypatch.setattr(fixmod, "patch_quantized_dimensions", sabotaged)
    out = tmp_path / "fixed.tflite"
    with pytest.raises(UserError, match="outputs differ"):
        fix_model(src, out)
    assert not out.exists()


def _buffer_data_pos(data: bytes, index: int) -> int:
    from vwwdeploy.model.flatbuf import Buf

    root = Buf(data).root()
    return root.tables(4, "buffers")[index].bytes_span(0)[0]


def test_nothing_to_fix_writes_nothing(tmp_path):
    out = tmp_path / "same.tflite"
    with pytest.raises(UserError, match="nothing written"):
        fix_model(tiny_model("int8"), out)
    assert not out.exists()
