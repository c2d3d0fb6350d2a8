"""The host-side comparison paths. Each takes the same int8 inputs and returns a `PathOutput`; a path
that cannot run (LiteRT refusing the model, no checkpoint, ...) is reported unavailable with its reason,
never a crash, so the rest of the report still gets written.

- ground truth: the labels.
- litert: LiteRT's int8 interpreter (optimized XNNPACK/ruy kernels).
- twin: TFLite Micro's reference kernels on the host (`vwwdeploy.model.tflm_twin`), the device's own code.
- float: the Keras float model of a training run, fed the dequantized int8 input.
The device path is the runner's (it talks to boards).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vwwdeploy.apps.validation.metrics import dequantize

Progress = Callable[[int], None]  # advance(n images)


@dataclass
class PathOutput:
    name: str
    available: bool
    reason: str | None = None
    q: np.ndarray | None = None  # int8 [N, K] raw scores (quantized paths)
    probs: np.ndarray | None = None  # float [N, K] dequantized scores / float model outputs
    note: str | None = None  # e.g. "model fixed in memory: ..."

    @classmethod
    def unavailable(cls, name: str, reason: str) -> "PathOutput":
        return cls(name=name, available=False, reason=reason)


def _one_line(exc: BaseException, width: int = 140) -> str:
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0] if text else ''}"
    return line if len(line) <= width else line[: width - 3] + "..."


# ------------------------------------------------------------------ LiteRT


def _litert_interpreter(model_bytes: bytes):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=model_bytes, num_threads=1)
    interp.allocate_tensors()
    return interp


_FIXED: dict[str, tuple[bytes | None, str]] = {}  # sha256 -> (repaired bytes or None, how / why not)


def _fixed_for_litert(model_bytes: bytes) -> tuple[bytes | None, str]:
    """A copy LiteRT accepts, repaired in memory by the model tools (the upstream model's bias tensors carry
    quantized_dimension 3, which LiteRT rejects and TFLM ignores). Cached per model in this process."""
    import hashlib

    key = hashlib.sha256(model_bytes).hexdigest()
    if key not in _FIXED:
        _FIXED[key] = _fix_for_litert(model_bytes)
    return _FIXED[key]


def _fix_for_litert(model_bytes: bytes) -> tuple[bytes | None, str]:
    try:
        from vwwdeploy.model import fix_model_bytes
    except ImportError:
        return _fix_via_files(model_bytes)
    try:
        fixed, names, proof = fix_model_bytes(model_bytes, "the model")
    except Exception as exc:  # the fixer's refusal becomes the reason
        return None, f"the model tools could not repair it: {_one_line(exc)}"
    return bytes(fixed), (
        f"LiteRT refused the model as is; ran a copy repaired in memory by fix_model_bytes "
        f"({len(names)} tensors' quantized_dimension set to 0, TFLM outputs proven identical "
        f"on {proof} inputs)"
    )


def _fix_via_files(model_bytes: bytes) -> tuple[bytes | None, str]:
    """Fallback for model tools without `fix_model_bytes`: `fix_model(in_path, out_path)` on temporary files."""
    import tempfile
    from pathlib import Path

    try:
        from vwwdeploy.model import fix_model
    except ImportError:
        return None, "vwwdeploy.model.fix_model is not available"
    try:
        with tempfile.TemporaryDirectory(prefix="vwwdeploy-validate-") as tmp:
            src, dst = Path(tmp) / "model.tflite", Path(tmp) / "fixed.tflite"
            src.write_bytes(model_bytes)
            result = fix_model(src, dst)
            fixed = dst.read_bytes()
    except Exception as exc:  # the fixer's refusal becomes the reason
        return None, f"fix_model could not repair it: {_one_line(exc)}"
    names = getattr(result, "fixed_tensors", None)
    what = f" ({len(names)} tensors' quantized_dimension set to 0)" if names else ""
    return fixed, f"LiteRT refused the model as is; ran a copy repaired by fix_model{what}"


def run_litert(model_bytes: bytes, x: np.ndarray, progress: Progress | None = None) -> PathOutput:
    note = None
    try:
        interp = _litert_interpreter(model_bytes)
    except Exception as first:
        fixed, why = _fixed_for_litert(model_bytes)
        if fixed is None:
            return PathOutput.unavailable("litert", f"LiteRT refused the model ({_one_line(first)}); {why}")
        try:
            interp = _litert_interpreter(fixed)
        except Exception as second:
            return PathOutput.unavailable(
                "litert", f"LiteRT refused the model even after fixing it: {_one_line(second)}"
            )
        note = why
    try:
        inp = interp.get_input_details()[0]
        out = interp.get_output_details()[0]
        if np.dtype(inp["dtype"]) != np.int8 or np.dtype(out["dtype"]) != np.int8:
            return PathOutput.unavailable(
                "litert",
                f"the model is not int8 in/out ({np.dtype(inp['dtype']).name} -> {np.dtype(out['dtype']).name})",
            )
        scale, zp = out["quantization"]
        rows = []
        for i in range(len(x)):
            interp.set_tensor(inp["index"], x[i].reshape(inp["shape"]))
            interp.invoke()
            rows.append(interp.get_tensor(out["index"]).reshape(-1).copy())
            if progress:
                progress(1)
    except Exception as exc:
        return PathOutput.unavailable("litert", f"LiteRT failed while running: {_one_line(exc)}")
    q = np.stack(rows).astype(np.int8) if rows else np.zeros((0, 0), np.int8)
    return PathOutput("litert", True, q=q, probs=dequantize(q, scale, zp), note=note)


# ------------------------------------------------------------------ TFLM twin


def run_twin(twin, x: np.ndarray, progress: Progress | None = None, chunk: int = 16) -> PathOutput:
    """twin: an open `TflmTwin` (the caller owns it: it also tells the runner the model's tensor specs)."""
    from vwwdeploy.model.tflm_twin import TflmAbort

    out_spec = twin.outputs[0]
    in_shape = tuple(twin.inputs[0].shape)
    rows = []
    try:
        for start in range(0, len(x), chunk):
            batch = x[start : start + chunk].reshape((-1, *in_shape))
            res = np.asarray(twin.invoke_many(batch))
            rows.append(res.reshape(len(batch), -1))
            if progress:
                progress(len(batch))
    except TflmAbort as exc:
        return PathOutput.unavailable("twin", str(exc))
    q = np.concatenate(rows).astype(np.int8) if rows else np.zeros((0, 0), np.int8)
    return PathOutput("twin", True, q=q, probs=dequantize(q, out_spec.scale, out_spec.zero_point))


# ------------------------------------------------------------------ Keras float model


def run_float(
    checkpoint, x: np.ndarray, input_scale: float, input_zero_point: int, progress: Progress | None = None
) -> PathOutput:
    """The float model on the dequantized int8 input, (q - zp) * scale, so it sees the very same image."""
    if checkpoint is None:
        return PathOutput.unavailable("float", "no --checkpoint given")
    try:
        from vwwdeploy.training.checkpoint import load_float_model
    except ImportError as exc:
        return PathOutput.unavailable("float", f"the training package is not available ({_one_line(exc)})")
    model, _config = load_float_model(checkpoint)  # a bad checkpoint is the user's error: UserError
    xf = ((x.astype(np.float32) - np.float32(input_zero_point)) * np.float32(input_scale)).astype(np.float32)
    outs = []
    try:
        for start in range(0, len(xf), 64):
            batch = xf[start : start + 64]
            outs.append(np.asarray(model(batch, training=False)).reshape(len(batch), -1))
            if progress:
                progress(len(batch))
    except Exception as exc:
        return PathOutput.unavailable("float", f"the float model failed: {_one_line(exc)}")
    probs = np.concatenate(outs).astype(np.float64)
    note = None
    if len(probs) and not (np.all(probs >= -1e-6) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)):
        # A logits head: softmax so the scores compare with the int8 paths' probabilities.
        e = np.exp(probs - probs.max(axis=1, keepdims=True))
        probs = e / e.sum(axis=1, keepdims=True)
        note = "softmax applied to the float model's logits"
    return PathOutput("float", True, probs=probs, note=note)


def ground_truth(labels: np.ndarray, num_classes: int) -> PathOutput:
    probs = np.eye(num_classes)[np.asarray(labels, dtype=np.int64)]
    return PathOutput("ground_truth", True, probs=probs)
