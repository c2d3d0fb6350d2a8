"""Ask the two runtimes about a model, each in a child process so that a crash is a finding.

- TFLM (the board's runtime): `vwwdeploy.model.tflm_twin.TflmTwin`, reference kernels.
- LiteRT (the host runtime other tools use), with its *reference* kernels (BUILTIN_REF): they follow
  the same integer arithmetic as TFLM's reference kernels, so outputs can be compared bit for bit.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np

from vwwdeploy.model.tflm_twin import TflmAbort, TflmTwin, _child_env

LARGE_ARENA = 64 << 20


@dataclass
class RuntimeResult:
    loaded: bool
    error: str | None = None
    arena_used: int | None = None
    outputs: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


def tflm_probe(model_bytes: bytes, inputs: np.ndarray | None = None) -> RuntimeResult:
    """Load in TFLM, measure the arena, and optionally run `inputs` (one quantized input per row)."""
    error = None
    # The twin's default arena (4 MB) is far beyond the board; a model that needs more still gets
    # measured (once, with a huge arena) so that it is reported as too big rather than unloadable.
    for arena_size in (None, LARGE_ARENA):
        try:
            with TflmTwin(model_bytes, arena_size=arena_size) as twin:
                arena = twin.arena_used()
                outputs = twin.invoke_many(inputs) if inputs is not None else None
                return RuntimeResult(True, arena_used=arena, outputs=outputs, extra={"inputs": twin.inputs})
        except TflmAbort as exc:
            error = str(exc)
            if "allocate tensors" not in error:
                break
    return RuntimeResult(False, error=error)


def litert_probe(model_bytes: bytes, inputs: np.ndarray | None = None, timeout: float = 300) -> RuntimeResult:
    """Load in LiteRT (reference kernels) in a child process; optionally run `inputs` on input 0."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", "from vwwdeploy.model.runtimes import _litert_child; _litert_child()"],
            input=pickle.dumps((bytes(model_bytes), inputs)),
            capture_output=True,
            env=_child_env(),
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return RuntimeResult(False, error=f"LiteRT did not finish within {timeout:g} s")
    if proc.returncode != 0 or not proc.stdout:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
        return RuntimeResult(False, error=f"LiteRT crashed ({how}){': ' + err[-1] if err else ''}")
    status, value = pickle.loads(proc.stdout)
    if status == "error":
        return RuntimeResult(False, error=value)
    return RuntimeResult(True, outputs=value)


def _first_sentence(text: str) -> str:
    line = " ".join(text.split())
    # LiteRT repeats one message per tensor; the first says what is wrong.
    for sep in (".Tensor ", ". Tensor "):
        if sep in line:
            line = line.split(sep)[0] + "."
    return line[:300]


def _litert_child() -> None:
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # C-level prints must not corrupt the reply
    model_bytes, inputs = pickle.loads(sys.stdin.buffer.read())
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        interp = Interpreter(model_content=model_bytes, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        interp.allocate_tensors()
        value = None
        if inputs is not None:
            inp = interp.get_input_details()[0]["index"]
            out = interp.get_output_details()[0]["index"]
            results = []
            for x in inputs:
                interp.set_tensor(inp, x)
                interp.invoke()
                results.append(np.array(interp.get_tensor(out)))
            value = np.stack(results)
        reply = ("ok", value)
    except Exception as exc:  # a refusal is a finding, reported to the parent
        reply = ("error", f"LiteRT refused the model: {_first_sentence(str(exc)) or type(exc).__name__}")
    proto_out.write(pickle.dumps(reply))
    proto_out.flush()
