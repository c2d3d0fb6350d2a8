"""`fix_model`: repair known metadata defects in place, and prove the math did not change.

The one defect handled today is a wrong `quantized_dimension` (e.g. the upstream person detector's
14 one-dimensional bias tensors that say dimension 3, which LiteRT refuses). The field is patched in
place (4 bytes each), so the flatbuffer layout, weights and every other field stay byte-identical.
The proof runs the original in TFLM and the repaired model in TFLM and in LiteRT (reference kernels)
on the same inputs and requires identical outputs; otherwise nothing is written.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vwwdeploy.atomic import atomic_write_bytes
from vwwdeploy.errors import UserError
from vwwdeploy.model.inspect import quantized_dimension_defects
from vwwdeploy.model.outpaths import check_output
from vwwdeploy.model.runtimes import litert_probe, tflm_probe
from vwwdeploy.model.schema import parse_model, read_model

PROOF_RANDOM_INPUTS = 16


@dataclass
class FixResult:
    fixed_tensors: list[str]
    proof_inputs: int
    output: Path


def patch_quantized_dimensions(data: bytes) -> tuple[bytes, list[str]]:
    """(patched bytes, names of the tensors changed). Raises UserError for defects 0 cannot repair."""
    model = parse_model(data)
    defects = quantized_dimension_defects(model)
    unfixable = [t for _, t, ok in defects if not ok]
    if unfixable:
        t = unfixable[0]
        raise UserError(
            f"tensor {t.name!r} has {len(t.quantization.scale)} scales but shape {t.shape} and quantized_dimension "
            f"{t.quantization.quantized_dimension}; no dimension choice keeps its math, so --fix will not touch it"
        )
    out = bytearray(data)
    for _, t, _ in defects:
        struct.pack_into("<i", out, t.quantization.quantized_dimension_pos, 0)
    return bytes(out), [t.name for _, t, _ in defects]


def proof_inputs(shape: tuple[int, ...], dtype: str, zero_point: int, seed: int = 0) -> np.ndarray:
    """Inputs that exercise the whole range: the extremes, the zero point, and seeded random ones."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        consts = [info.min, info.max, int(np.clip(zero_point, info.min, info.max))]
        rand = rng.integers(info.min, int(info.max) + 1, size=(PROOF_RANDOM_INPUTS, *shape))
    else:
        consts = [-1.0, 1.0, 0.0]
        rand = rng.standard_normal(size=(PROOF_RANDOM_INPUTS, *shape))
    fixed = np.stack([np.full(shape, c) for c in consts])
    return np.concatenate([fixed, rand]).astype(dt)


def _identical(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


def fix_model_bytes(original: bytes, name: str = "the model") -> tuple[bytes, list[str], int]:
    """(repaired bytes, names of the tensors changed, number of proof inputs); UserError if unprovable."""
    model = read_model(original)
    sg = model.subgraphs[0]
    if len(sg.inputs) != 1:
        raise UserError(f"{name}: --fix proves equality on single-input models only; this one has {len(sg.inputs)}")
    repaired, names = patch_quantized_dimensions(original)
    if not names:
        raise UserError(f"{name} has no metadata defect that --fix repairs; nothing written")

    before = tflm_probe(original)
    if not before.loaded:
        raise UserError(f"cannot prove the repair: {before.error}")
    spec = before.extra["inputs"][0]
    xs = proof_inputs(spec.shape, spec.dtype, spec.zero_point)
    ref = tflm_probe(original, xs)
    tflm_fixed = tflm_probe(repaired, xs)
    lite_fixed = litert_probe(repaired, xs)
    if not tflm_fixed.loaded:
        raise UserError(f"the repaired model no longer loads in TFLM ({tflm_fixed.error}); nothing written")
    if not lite_fixed.loaded:
        raise UserError(f"LiteRT still refuses the repaired model ({lite_fixed.error}); nothing written")
    for who, got in (("TFLM", tflm_fixed.outputs), ("LiteRT", lite_fixed.outputs)):
        if not _identical(ref.outputs, got):
            raise UserError(
                f"the repaired model's {who} outputs differ from the original's on the proof inputs; nothing written"
            )
    return repaired, names, len(xs)


def fix_model(in_path: str | Path, out_path: str | Path) -> FixResult:
    """Repair `in_path` into `out_path` (atomically) after proving identical outputs; see module doc."""
    in_path, out_path = Path(in_path), Path(out_path)
    model = read_model(in_path)  # clear errors for missing / not-a-model
    check_output(out_path, [in_path], "OUT")
    repaired, names, n_inputs = fix_model_bytes(model.data, str(in_path))
    atomic_write_bytes(out_path, repaired)
    return FixResult(fixed_tensors=names, proof_inputs=n_inputs, output=out_path)
