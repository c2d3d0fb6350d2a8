"""A reference MLPerf Tiny device under test on the host: the protocol facts of docs/mlperf.md, the model on
the TFLM twin (reference kernels), served on a pty or TCP port like `vwwdeploy sim`. It exists to test
runners (ours and the official one) against a known-good DUT, and to misbehave on demand:

- `slow_s`: extra seconds per inference (a slow board);
- `drop_terminator_every`: the `%` of every Nth command is lost on the line, so the board waits on;
- `error_every`: every Nth command is answered `e-[injected fault]` instead of being run;
- `reset_every`: the board reboots (boot banner, buffer lost) on every Nth command.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vwwdeploy.data import input_convention
from vwwdeploy.errors import UserError
from vwwdeploy.link import mlperf_protocol as p
from vwwdeploy.virtual_boards.sim.transport import Served, serve_until_stopped

FW_VERSION = "vwwdeploy reference DUT (MLPerf Tiny protocol)"


@dataclass(frozen=True)
class DutFaults:
    slow_s: float = 0.0
    drop_terminator_every: int = 0
    error_every: int = 0
    reset_every: int = 0


def quantize_input(raw: bytes, shape: tuple[int, ...], scale: float, zero_point: int, dtype: str) -> np.ndarray:
    """u8 RGB bytes -> the model's input tensor: the pixel value v stands for v / 255, quantized with the
    model's own scale and zero point (for scale 1/255 and zero point -128 that is v - 128). A one-channel
    model gets the mean of the three channels."""
    dims = tuple(int(d) for d in shape)
    h, w = dims[1], dims[2]
    channels = dims[3] if len(dims) == 4 else 1
    rgb = np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3).astype(np.float64)
    pixels = rgb if channels == 3 else np.floor(rgb.sum(axis=2, keepdims=True) / 3.0)
    # ties up, as the firmware (mlperf_dut.cc): the project's one rounding rule
    return input_convention.quantize(pixels / 255.0, scale, zero_point, np.dtype(dtype)).reshape(dims)


class MlperfDut(Served):
    """Serve with `serve_pty()` or `serve_tcp()`, then `stop()`."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        baud: int | None = None,
        faults: DutFaults | None = None,
        name: str = "vwwdeploy-sim",
        model_string: str = p.MODEL_VWW,
    ):
        from vwwdeploy.model.tflm_twin import TflmTwin

        path = Path(model_path)
        if not path.is_file():
            raise UserError(f"model {path} does not exist")
        model_bytes = path.read_bytes()
        self.model_sha256 = hashlib.sha256(model_bytes).hexdigest()
        self._twin = TflmTwin(model_bytes, arena_size=max(10 * len(model_bytes), 4 << 20))
        self.input_spec, self.output_spec = self._twin.inputs[0], self._twin.outputs[0]
        shape = self.input_spec.shape
        if self.input_spec.dtype not in ("int8", "uint8") or len(shape) != 4 or shape[3] not in (1, 3):
            self._twin.close()
            raise UserError(
                f"the reference DUT runs int8 image models shaped 1xHxWx1 or 1xHxWx3; {path.name} takes "
                f"{self.input_spec.dtype} {'x'.join(map(str, shape))}"
            )
        self.input_bytes = int(shape[1]) * int(shape[2]) * 3  # the runner always sends RGB
        self.name = name
        self.model_string = model_string
        self.baud = baud
        self.faults = faults or DutFaults()
        self.counters = {"commands": 0, "inferences": 0, "resets": 0, "dropped_terminators": 0, "injected_errors": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._transport = None
        self._t0 = time.monotonic()
        self._terminators = 0
        self._reset_state()

    def _reset_state(self) -> None:
        self._cmd = bytearray()
        self._buffer = bytearray(self.input_bytes)
        self._size = 0
        self._pos = 0
        self._output: np.ndarray | None = None

    # ------------------------------------------------------------ serving

    def _start(self, transport) -> None:
        self._transport = transport
        self._boot()
        self._thread = threading.Thread(target=self._loop, name="vwwdeploy-mlperf-dut", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._transport is not None:
            self._transport.close()
        self._twin.close()

    def __enter__(self) -> "MlperfDut":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _send(self, text: str) -> None:
        data = text.encode("ascii")
        if self.baud:
            time.sleep(len(data) * 10 / self.baud)
        self._transport.write(data, self._stop)

    def _boot(self) -> None:
        self._send(f"{p.INIT_DONE}\r\n{p.READY}\r\n")

    def _loop(self) -> None:
        while not self._stop.is_set():
            data = self._transport.read(4096, 0.1)
            for byte in data:
                if byte != ord(p.TERMINATOR):
                    if len(self._cmd) < p.CMD_BUFFER:  # the reference DUT keeps the first 80 characters
                        self._cmd.append(byte)
                    continue
                self._terminators += 1
                f = self.faults
                if f.drop_terminator_every and self._terminators % f.drop_terminator_every == 0:
                    self.counters["dropped_terminators"] += 1
                    continue
                command = self._cmd.decode("ascii", errors="replace")
                self._cmd = bytearray()
                self.counters["commands"] += 1
                n = self.counters["commands"]
                if f.reset_every and n % f.reset_every == 0:
                    self.counters["resets"] += 1
                    self._reset_state()
                    self._boot()
                    break  # the reset loses whatever else had arrived
                if f.error_every and n % f.error_every == 0:
                    self.counters["injected_errors"] += 1
                    self._send(f"e-[injected fault on '{command[:20]}']\r\n{p.READY}\r\n")
                    continue
                self._send("".join(line + "\r\n" for line in self.execute(command, self._emit)) + p.READY + "\r\n")

    # ------------------------------------------------------------ commands

    def _emit(self, line: str) -> None:
        self._send(line + "\r\n")

    def execute(self, command: str, emit=None) -> list[str]:
        """The reply lines to one command (without the final m-ready). A long `infer` passes the lines it
        has before each phase to `emit` at once, as a board prints them while it works."""
        tokens = command.split()
        if not tokens:
            return []
        head, args = tokens[0], tokens[1:]
        if head == "name":
            return [f"m-name-dut-[{self.name}]"]
        if head == "timestamp":
            return [self._lap()]
        if head == "profile":
            return [f"m-profile-[{FW_VERSION}]", f"m-model-[{self.model_string}]"]
        if head == "help":
            return [FW_VERSION, "name | timestamp | profile | db load N | db HEX | db print | infer N [W] | results"]
        if head == "db":
            return self._db(args)
        if head == "infer":
            return self._infer(args, emit or (lambda line: None))
        if head == "results":
            return [self._results()] if self._output is not None else ["e-[No inference has run]"]
        return [f"e-[Unknown command: {head}]"]

    def _lap(self) -> str:
        micros = int((time.monotonic() - self._t0) * 1e6) & 0xFFFFFFFF  # a 32-bit unsigned long wraps
        return f"m-lap-us-{micros}"

    def _db(self, args: list[str]) -> list[str]:
        if not args:
            return ["e-[Command 'db' requires a subcommand]"]
        if args[0] == "load":
            if len(args) < 2 or not args[1].isdigit() or int(args[1]) == 0:
                return ["e-[Command 'db load' requires a number of bytes > 0]"]
            size = int(args[1])
            if size > len(self._buffer):
                return [f"e-[Supplied buffer size {size} exceeds maximum of {len(self._buffer)}]"]
            self._size, self._pos = size, 0
            return [f"m-[Expecting {size} bytes]"]
        if args[0] == "print":
            data = bytes(self._buffer[: self._size])
            return ["m-buffer-" + "-".join(f"{b:02x}" for b in data[i : i + 8]) for i in range(0, len(data), 8)]
        digits = args[0]
        if len(digits) % 2:
            return ["e-[Insufficent number of hex digits]"]
        try:
            data = bytes.fromhex(digits)
        except ValueError:
            return [f"e-[Invalid hex digit in '{digits[:16]}']"]
        if self._pos + len(data) > self._size:
            data = data[: max(0, self._size - self._pos)]  # digits past the announced size are disregarded
            if not data:
                return ["e-[Buffer already full: send db load N first]"]
        self._buffer[self._pos : self._pos + len(data)] = data
        self._pos += len(data)
        return ["m-load-done"] if self._pos == self._size else []

    def _infer(self, args: list[str], emit) -> list[str]:
        try:
            n = int(args[0]) if args else 1
            w = int(args[1]) if len(args) > 1 else 10
        except ValueError:
            return ["e-[infer takes numbers: infer N W]"]
        if n <= 0:
            return ["e-[Inference iterations must be >0]"]
        if w < 0:
            return ["e-[Inference warmup must be >=0]"]
        if self._size != self.input_bytes or self._pos != self._size:
            return [f"e-[Input db has {self._pos} bytes, expected {self.input_bytes}]"]
        spec = self.input_spec
        x = quantize_input(bytes(self._buffer), spec.shape, spec.scale, spec.zero_point, spec.dtype)
        emit(f"m-warmup-start-{w}")
        for _ in range(w):
            self._invoke(x)
        emit("m-warmup-done")
        emit(f"m-infer-start-{n}")
        emit(self._lap())
        for _ in range(n):
            self._invoke(x)
        return [self._lap(), "m-infer-done", self._results()]

    def _invoke(self, x: np.ndarray) -> None:
        self._output = np.asarray(self._twin.invoke(x)).reshape(-1)
        self.counters["inferences"] += 1
        if self.faults.slow_s:
            time.sleep(self.faults.slow_s)

    def _results(self) -> str:
        spec = self.output_spec
        values = (self._output.astype(np.float64) - spec.zero_point) * spec.scale
        return "m-results-[" + "".join(f"{v:0.3f}," for v in values) + "]"


def start_dut_in_thread(model_path, *, tcp=False, **kwargs):
    """Serve a MlperfDut in the background; returns (url, dut). Call dut.stop() when done."""
    dut = MlperfDut(model_path, **kwargs)
    return dut.serve(tcp), dut


def serve_forever(model_path, tcp, baud, faults: DutFaults) -> int:
    """`vwwdeploy sim --mlperf`: print the URL, serve until Ctrl-C or SIGTERM."""
    dut = MlperfDut(model_path, baud=baud, faults=faults)
    extras = [f"{baud} baud" if baud else "no pacing"]
    extras += [f"+{faults.slow_s:g} s per inference"] if faults.slow_s else []
    extras += [f"drops every {faults.drop_terminator_every}th %"] if faults.drop_terminator_every else []
    extras += [f"e-[...] every {faults.error_every}th command"] if faults.error_every else []
    extras += [f"reset every {faults.reset_every}th command"] if faults.reset_every else []
    banner = (
        f"vwwdeploy sim: MLPerf Tiny DUT ({dut.model_string}) serving {Path(model_path).name} "
        f"(sha256 {dut.model_sha256[:12]}...), {', '.join(extras)}; Ctrl-C stops"
    )

    def summary() -> str:
        c = dut.counters
        return f"vwwdeploy sim: stopped after {c['commands']} commands, {c['inferences']} inferences"

    return serve_until_stopped(dut, tcp, banner, summary)
