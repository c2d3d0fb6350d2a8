"""Everything about one .tflite model: reading it, checking it against TFLM and the SparkFun Edge,
repairing known metadata defects, and turning it into firmware sources.

Public API (stable; other commands call these):
- `inspect_model(path_or_bytes, *, firmware_budget_flash=..., firmware_budget_ram=..., arena_margin=None,
  run_litert=True) -> dict` — the report `vwwdeploy inspect --json` prints.
- `fix_model(in_path, out_path) -> FixResult` — `vwwdeploy inspect --fix`.
- `fix_model_bytes(data) -> (repaired bytes, fixed tensor names, proof input count)` — the same, in memory.
- `generate_sources(model_path, out_dir, labels=None, arena_margin=None) -> list[Path]` — `vwwdeploy codegen`.
- `read_model(path_or_bytes) -> Model` — the parsed flatbuffer (ops, tensors, quantization).
Also here: the TFLM twin (`tflm_twin`), per-op profiles (`op_profile`) and the kernel generator (`kernels/`).
May import: the root basics and `data` (the input convention); never training, firmware or anything above.
"""

from __future__ import annotations


def inspect_model(model, **kwargs):
    from vwwdeploy.model.inspect import inspect_model as _inspect

    return _inspect(model, **kwargs)


def fix_model(in_path, out_path):
    from vwwdeploy.model.fix import fix_model as _fix

    return _fix(in_path, out_path)


def fix_model_bytes(data, name="the model"):
    from vwwdeploy.model.fix import fix_model_bytes as _fix

    return _fix(data, name)


def generate_sources(model_path, out_dir, labels=None, arena_margin=None):
    from vwwdeploy.model.codegen import generate_sources as _gen

    return _gen(model_path, out_dir, labels=labels, arena_margin=arena_margin)


def read_model(model):
    from vwwdeploy.model.schema import read_model as _read

    return _read(model)


__all__ = ["inspect_model", "fix_model", "fix_model_bytes", "generate_sources", "read_model"]
