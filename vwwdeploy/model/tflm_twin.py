"""The TFLM host twin: TFLite Micro's reference kernels (the `tflite-micro` runtime) in a child process.

The `tflite-micro` interpreter can abort the whole process on a degenerate model (e.g. SIGABRT in
CalculateSoftmaxParams for an untrained softmax). Running it in a child process turns such an abort
into a `TflmAbort` error here instead of killing the caller.

Wire format between parent and child (pipes): each message is a pickled tuple preceded by its
4-byte little-endian length. Requests are `(verb, payload)`, replies `("ok", value)` or
`("error", text)`.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vwwdeploy.errors import UserError

_HEADER = struct.Struct("<I")


class TflmAbort(UserError):
    """The TFLM runtime crashed or refused the model."""


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    package_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    return env


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _recv(stream):
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (length,) = _HEADER.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError
    return pickle.loads(data)


class TflmTwin:
    """A TFLM interpreter for one model, living in its own process."""

    def __init__(self, model: bytes | str | Path, arena_size: int | None = None):
        model_bytes = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
        if arena_size is None:
            # Generous: tiny models can have large activations; the real need is measured later.
            arena_size = max(10 * len(model_bytes), 4 << 20)
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from vwwdeploy.model.tflm_twin import _child; _child()"],
            env=_child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._call("load", (model_bytes, arena_size))
        self.inputs, self.outputs = self._call("details", None)

    def _call(self, verb: str, payload):
        try:
            _send(self._proc.stdin, (verb, payload))
            status, value = _recv(self._proc.stdout)
        except (EOFError, BrokenPipeError, OSError):
            self._proc.wait(timeout=10)
            err = self._proc.stderr.read().decode(errors="replace").strip().splitlines()
            last = err[-1] if err else ""
            code = self._proc.returncode
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            raise TflmAbort(
                f"the TFLM runtime aborted ({how}) {'while ' + verb + 'ing' if verb != 'details' else ''}"
                f"{': ' + last if last else ''}; the model is degenerate or unsupported by TFLM"
                " (e.g. an untrained model's softmax scale)"
            ) from None
        if status == "error":
            raise TflmAbort(f"TFLM refused the model: {value}")
        return value

    def invoke(self, x: np.ndarray, index: int = 0) -> np.ndarray:
        """Run one inference on an already-quantized input; returns output 0."""
        return self._call("invoke", np.ascontiguousarray(x))

    def invoke_many(self, xs: np.ndarray) -> np.ndarray:
        """Run inferences for a batch of inputs (one per leading index), in one round trip."""
        return self._call("invoke_many", np.ascontiguousarray(xs))

    def arena_used(self) -> int:
        """Bytes of tensor arena TFLM really allocated for this model (host pointer sizes)."""
        return self._call("arena", None)

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                _send(self._proc.stdin, ("quit", None))
                self._proc.wait(timeout=5)
            except Exception:
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> "TflmTwin":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


# ---------------------------------------------------------------- child side


def _spec(detail) -> TensorSpec:
    q = detail["quantization_parameters"]
    scales, zps = q["scales"], q["zero_points"]
    return TensorSpec(
        shape=tuple(int(d) for d in detail["shape"]),
        dtype=np.dtype(detail["dtype"]).name,
        scale=float(scales[0]) if len(scales) else 0.0,
        zero_point=int(zps[0]) if len(zps) else 0,
    )


def _count_tensors(getter) -> int:
    n = 0
    while True:
        try:
            getter(n)
        except Exception:
            return n
        n += 1


def _arena_total(interp, capture_fd: int) -> int:
    """Parse the "Arena allocation total" line TFLM's print_allocations writes to stderr."""
    import ctypes

    libc = ctypes.CDLL(None)
    libc.fflush(None)
    saved = os.dup(2)
    start = os.lseek(capture_fd, 0, os.SEEK_END)
    os.dup2(capture_fd, 2)
    try:
        interp.print_allocations()
        libc.fflush(None)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    os.lseek(capture_fd, start, os.SEEK_SET)
    text = os.read(capture_fd, 1 << 16).decode(errors="replace")
    for line in text.splitlines():
        if "Arena allocation total" in line:
            return int(line.split("total")[1].split()[0])
    raise RuntimeError("TFLM printed no arena total")


def _child() -> None:
    # The protocol owns the original stdout; C-level prints from TFLM go to a file we can read.
    proto_out = os.fdopen(os.dup(1), "wb")
    proto_in = sys.stdin.buffer
    capture_path = f"/tmp/vwwdeploy-tflm-{os.getpid()}.log"
    capture_fd = os.open(capture_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(capture_fd, 1)
    os.unlink(capture_path)
    from tflite_micro import runtime

    interp = None
    while True:
        try:
            verb, payload = _recv(proto_in)
        except EOFError:
            return
        try:
            if verb == "quit":
                _send(proto_out, ("ok", None))
                return
            if verb == "load":
                model_bytes, arena = payload
                interp = runtime.Interpreter.from_bytes(model_bytes, arena_size=arena)
                value = None
            elif verb == "details":
                ins = [_spec(interp.get_input_details(i)) for i in range(_count_tensors(interp.get_input_details))]
                outs = [_spec(interp.get_output_details(i)) for i in range(_count_tensors(interp.get_output_details))]
                value = (ins, outs)
            elif verb == "invoke":
                interp.set_input(payload, 0)
                interp.invoke()
                value = np.array(interp.get_output(0))
            elif verb == "invoke_many":
                results = []
                for x in payload:
                    interp.set_input(x, 0)
                    interp.invoke()
                    results.append(np.array(interp.get_output(0)))
                value = np.stack(results) if results else np.zeros((0,))
            elif verb == "arena":
                value = _arena_total(interp, capture_fd)
            else:
                raise ValueError(f"unknown verb {verb}")
        except Exception as exc:  # reported to the parent as a refusal, not a crash
            _send(proto_out, ("error", f"{type(exc).__name__}: {exc}".splitlines()[0][:500]))
            continue
        _send(proto_out, ("ok", value))
