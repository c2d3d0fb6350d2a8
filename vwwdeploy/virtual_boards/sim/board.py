"""`SimBoard`: a virtual SparkFun Edge speaking protocol v1 (device side) on a pty or a TCP port.

Three threads, as the firmware's interrupt-driven UART and main loop: the receiver decodes requests
while the worker executes the previous one (so a pipelined host keeps the line busy), and the
transmitter sends replies at the configured baud (10 bits a byte) through the optional line noise.
The model runs on the TFLM host twin (reference kernels, in a child process): a TFLM abort becomes
ERROR INFERENCE_FAILED plus a LOG line, and the board keeps serving with a fresh interpreter.

Longer than 400 lines on purpose: the three threads share the board's state (generation, staging
buffer, device seq) under one lock, and what each request answers is pinned by the device-behaviour
vectors (tests/vectors/device/); its transports, camera and faults are already modules of their own.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import sys
import threading
import time
from pathlib import Path

import numpy as np

from vwwdeploy import __version__
from vwwdeploy.constants import BITS_PER_BYTE, DEVICE_INTER_BYTE_TIMEOUT_S
from vwwdeploy.errors import UserError
from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol.crc import crc32
from vwwdeploy.link.protocol.framing import MAX_PAYLOAD, Frame, FrameDecoder, Header, encode_frame
from vwwdeploy.link.protocol.pipeline import OUT, RAW_SHAPE, input_table, resample, supports_shape, test_pattern
from vwwdeploy.virtual_boards.sim.camera import Camera
from vwwdeploy.virtual_boards.sim.faults import ByteFaults, FaultConfig
from vwwdeploy.virtual_boards.sim.hardware import HardwareFaults, board_checks, camera_checks
from vwwdeploy.virtual_boards.sim.transport import Served

T = m.MsgType
_REQUESTS = frozenset(int(t) for t in T if t < 0x80)
DEVICE_INTER_BYTE_TIMEOUT = DEVICE_INTER_BYTE_TIMEOUT_S
SIM_MAX_RX_PAYLOAD = 80_000  # like the firmware on a board with room for a raw SET_FRAME
SET_FRAME_PAYLOAD = 8 + RAW_SHAPE[0] * RAW_SHAPE[1]  # a raw frame and its image header
_TX_QUEUE_FRAMES = 4  # replies queued for the transmitter before the worker waits (backpressure)
STREAM_LISTEN_S = 0.1  # docs/protocol.md, "Capture windows": a deaf board listens this long between groups


class _Reply(Exception):
    """Raised while handling a request: answer with this ERROR instead."""

    def __init__(self, code: m.ErrorCode, text: str = ""):
        super().__init__(text)
        self.code, self.text = code, text


def _hwc(shape) -> tuple[int, ...]:
    shape = tuple(int(d) for d in shape)
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    return shape + (1,) if len(shape) == 2 else shape


class SimBoard(Served):
    """The simulated board. Call `serve_pty()` or `serve_tcp()`, then `stop()`."""

    def __init__(
        self,
        model_path: str | Path,
        camera_dir: str | Path | None = None,
        baud: int | None = None,
        faults: FaultConfig | None = None,
        *,
        labels: list[str] | None = None,
        pipeline_mode: int = 0,
        max_rx_payload: int = SIM_MAX_RX_PAYLOAD,
        staging: bool = True,
        has_camera: bool = True,
        line_bytes_per_s: float | None = None,
        runtime=None,
        hardware: HardwareFaults | None = None,
        deaf_capture: float = 0.0,
        warn=None,
    ):
        from vwwdeploy.model.tflm_twin import TflmTwin

        path = Path(model_path)
        if not path.is_file():
            raise UserError(f"model {path} does not exist")
        if baud is not None and baud <= 0:
            raise UserError(f"--baud must be positive, got {baud}")
        self.model_bytes = path.read_bytes()
        if runtime is None:
            from vwwdeploy.model.schema import read_model

            read_model(path)  # a damaged file gets inspect's sentence, not the runtime's
        self.model_sha256 = hashlib.sha256(self.model_bytes).hexdigest()
        self.arena_size = max(10 * len(self.model_bytes), 4 << 20)
        # runtime: a callable returning what TflmTwin offers (tests pass a scripted classifier).
        self._twin_factory = runtime or (lambda: TflmTwin(self.model_bytes, arena_size=self.arena_size))
        self._twin = self._twin_factory()
        spec_in, spec_out = self._twin.inputs[0], self._twin.outputs[0]
        if spec_in.dtype != "int8":
            self._twin.close()
            raise UserError(f"the simulated board runs int8 models; {path.name} takes {spec_in.dtype}")
        self.arena_used = self._twin.arena_used()
        if deaf_capture < 0:
            self._twin.close()
            raise UserError(f"--deaf-capture must be 0 or more milliseconds, got {deaf_capture * 1000:g}")
        self.hardware = hardware or HardwareFaults()
        # Every capture window lasts this long and the receiver drops what arrives meanwhile (a board whose
        # polled camera read runs with interrupts off); 0 = the UART hears during captures.
        self.deaf_capture = float(deaf_capture)
        self.input_shape = tuple(spec_in.shape)
        self.input_hwc = _hwc(spec_in.shape)
        # The camera path's pixel -> int8, once per model, as the firmware builds it (protocol section 5).
        self._input_table = input_table(spec_in.scale, spec_in.zero_point)
        self._feeds_model = spec_in.dtype == "int8" and len(self.input_hwc) == 3 and supports_shape(*self.input_hwc)
        # The self-test's built-in vector: the spec's input; its expected output is computed, as codegen does,
        # by a fresh runtime at the first SELFTEST.
        self._selftest_input = m.selftest_input(int(np.prod(self.input_shape))).reshape(self.input_shape)
        self._selftest_expected: np.ndarray | None = None
        self._output_count = int(np.prod(spec_out.shape))
        # staging=False plays a firmware without staged transfer (capability bit 3 clear, UNKNOWN_TYPE).
        self.staging = staging
        self.staging_size = max(m.STAGING_MIN_BYTES, int(np.prod(self.input_hwc)))
        n_classes = int(np.prod(spec_out.shape))
        if labels is None:
            labels = ["notperson", "person"] if n_classes == 2 else [f"class{i}" for i in range(n_classes)]
        self.camera = Camera(camera_dir)
        # has_camera=False plays a board without a sensor: CAPTURE serves SET_FRAME frames or the test pattern.
        self.has_camera = has_camera
        self.baud = baud
        # line_bytes_per_s plays a link slower than its nominal baud (an emulated UART, a congested
        # USB bridge): the bytes move at this rate whatever baud the host believes in.
        if line_bytes_per_s is not None and line_bytes_per_s <= 0:
            raise UserError(f"line rate must be positive, got {line_bytes_per_s}")
        self.line_rate = line_bytes_per_s or (baud / BITS_PER_BYTE if baud else None)
        self.faults = faults or FaultConfig()
        self.default_pipeline = m.PipelineMode(pipeline_mode)
        self.warn = warn or (lambda text: print(f"vwwdeploy sim: {text}", file=sys.stderr, flush=True))
        self._info = m.DeviceInfo(
            protocol_version=m.PROTOCOL_VERSION,
            firmware_version=__version__,
            board="sim",
            firmware_name="vwwdeploy-sim",
            model_sha256=self.model_sha256,
            input=m.TensorInfo(tuple(spec_in.shape), spec_in.dtype, spec_in.scale, spec_in.zero_point),
            output=m.TensorInfo(tuple(spec_out.shape), spec_out.dtype, spec_out.scale, spec_out.zero_point),
            arena_size=self.arena_size,
            arena_used=self.arena_used,
            kernels="host-runtime",
            clock_hz=0,
            labels=tuple(labels),
            capabilities=(m.Capability.CAMERA if has_camera else 0)
            | (m.Capability.SET_FRAME if min(max_rx_payload, MAX_PAYLOAD) >= SET_FRAME_PAYLOAD else 0)
            | (m.Capability.STAGED if staging else 0),
            max_rx_payload=min(max_rx_payload, MAX_PAYLOAD),
            pipeline_mode=self.default_pipeline,
        )
        self.counters = {
            "requests": 0,
            "inferences": 0,
            "resets": 0,
            "bad_crc": 0,
            "errors": 0,
            "groups": 0,
            "staged_chunks": 0,
            "staged_inferences": 0,
            "stage_mismatches": 0,
            "selftests": 0,
            "capture_windows": 0,
            "deaf_dropped_bytes": 0,
        }
        self._deaf = False
        self._tx_busy = False
        self._quiet_since = time.monotonic()  # last byte received or sent
        self._rx_faults = ByteFaults(self.faults, 1)
        self._tx_faults = ByteFaults(self.faults, 2)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._twin_lock = threading.Lock()
        self._requests: queue.Queue = queue.Queue()
        self._tx: queue.Queue = queue.Queue(maxsize=_TX_QUEUE_FRAMES)
        self._generation = 0
        self._dev_seq = 0
        self._frames_seen = 0
        self._threads: list[threading.Thread] = []
        self._transport = None
        self._decoder = FrameDecoder(
            accept_limit=self._info.max_rx_payload,
            on_bad_crc=self._bad_crc,
            on_too_large=self._too_large,
            on_abandoned=self._abandoned,
        )
        self._reset_state()

    # ------------------------------------------------------------- lifecycle

    @property
    def info(self) -> m.DeviceInfo:
        import dataclasses

        return dataclasses.replace(self._info, pipeline_mode=self._pipeline)

    def _start(self, transport) -> None:
        if self._transport is not None:
            raise RuntimeError("this SimBoard is already serving")
        self._transport = transport
        # The boot INFO goes out before serve_*() returns, so a host that opens the port afterwards
        # never mistakes it for a reset in the middle of its first request.
        with self._lock:
            seq, self._dev_seq = self._dev_seq, self._dev_seq + 1
        transport.write(encode_frame(T.INFO, seq, self.info.encode()), self._stop)
        for target, name in ((self._rx_loop, "rx"), (self._worker, "worker"), (self._tx_loop, "tx")):
            thread = threading.Thread(target=target, name=f"vwwdeploy-sim-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._transport is not None:
            self._transport.close()
        with self._twin_lock:
            if self._twin is not None:
                self._twin.close()
                self._twin = None

    def __enter__(self) -> "SimBoard":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        """Simulate a board reset: in-flight work and state are lost, a boot INFO goes out."""
        with self._lock:
            self._generation += 1
            self._dev_seq = 0
            self.counters["resets"] += 1
            gen = self._generation
            self._staging = bytearray(self.staging_size)
        for q in (self._requests, self._tx):
            while True:
                try:
                    q.get_nowait()
                except queue.Empty:
                    break
        self._reset_state()
        self._send_unsolicited([(T.INFO, self.info.encode())], gen)

    def _reset_state(self) -> None:
        self._pipeline = self.default_pipeline
        self._set_frame: np.ndarray | None = None
        self._staging = bytearray(self.staging_size)  # a reset empties the staging buffer

    # ------------------------------------------------------------- receive

    def _rx_loop(self) -> None:
        rate = self.line_rate
        chunk = 1024 if rate else 65536
        clock = time.monotonic()
        last_rx = clock
        busy = False  # were more bytes already waiting when the previous chunk was read?
        while not self._stop.is_set():
            data = self._transport.read(chunk, 0.05)
            now = time.monotonic()
            if data:
                if rate:  # the bytes arrive at line rate, like a UART's
                    # Bytes that were already queued behind the previous chunk follow it on the line
                    # without a gap, even if this thread woke up late; otherwise the line was idle.
                    clock = (clock if busy else max(clock, now)) + len(data) / rate
                    busy = self._transport.pending()
                    if clock > now:
                        time.sleep(clock - now)
                data = self._rx_faults.apply(data)
                last_rx = self._quiet_since = time.monotonic()
                if self._deaf:  # interrupts off for the camera read: these bytes never reach the buffer
                    self.counters["deaf_dropped_bytes"] += len(data)
                    continue
                frames = self._decoder.feed(data)
            elif self._decoder.pending and now - last_rx > DEVICE_INTER_BYTE_TIMEOUT:
                frames = self._decoder.timeout()
            else:
                continue
            gen = self._generation
            for frame in frames:
                if gen != self._generation:
                    break  # a reset swallowed the rest of this batch
                self._frames_seen += 1
                if self.faults.reset_every and self._frames_seen % self.faults.reset_every == 0:
                    self._decoder.reset()
                    self.reset()
                    break
                self._requests.put((gen, frame))

    def _bad_crc(self, header: Header) -> None:
        self.counters["bad_crc"] += 1
        self._error_now(header, m.ErrorCode.BAD_CRC, "frame CRC mismatch")

    def _abandoned(self, header: Header) -> None:
        if header.type < 0x80:  # a request cut short (lost bytes): ask for it again now
            self.counters["bad_crc"] += 1
            self._error_now(header, m.ErrorCode.BAD_CRC, "frame cut short (inter-byte timeout)")

    def _too_large(self, header: Header) -> None:
        self._error_now(header, m.ErrorCode.TOO_LARGE, f"{header.length} > {self._info.max_rx_payload}")

    def _error_now(self, header: Header, code: m.ErrorCode, text: str) -> None:
        body = m.ErrorMsg(int(code), header.type, text).encode()
        self._emit([(T.ERROR, header.seq, body)], self._generation)

    # ------------------------------------------------------------- worker

    def _worker(self) -> None:
        while not self._stop.is_set():
            try:
                gen, frame = self._requests.get(timeout=0.1)
            except queue.Empty:
                continue
            if gen == self._generation:
                self._handle(frame, gen)

    def _handle(self, frame: Frame, gen: int) -> None:
        self.counters["requests"] += 1
        try:
            if frame.type == T.STREAM_START:
                start = self._parse(m.StreamStart.decode, frame.payload)
                self._emit([(T.ACK, frame.seq, m.encode_ack(T.STREAM_START))], gen)
                self._stream(start, gen)
            else:
                self._emit(self._answer(frame, gen), gen)
        except _Reply as reply:
            self.counters["errors"] += 1
            out = [(T.ERROR, frame.seq, m.ErrorMsg(int(reply.code), frame.type, reply.text).encode())]
            if reply.code == m.ErrorCode.INFERENCE_FAILED:  # the LOG first: a host stops at the ERROR
                out.insert(0, (T.LOG, frame.seq, m.Log(m.LogLevel.ERROR, reply.text).encode()))
            self._emit(out, gen)

    @staticmethod
    def _parse(decoder, payload: bytes):
        try:
            return decoder(payload)
        except m.PayloadError as exc:
            raise _Reply(m.ErrorCode(exc.code), str(exc)) from None

    def _knows(self, type_: int) -> bool:
        """Is type_ a request this board serves (UNKNOWN_TYPE otherwise, even while streaming)?"""
        staged = (T.STAGE, T.INFER_STAGED)
        return type_ in _REQUESTS and (self.staging or type_ not in staged)

    def _answer(self, frame: Frame, gen: int) -> list[tuple[int, int, bytes]]:
        seq, t = frame.seq, frame.type
        if t == T.HELLO:
            return [(T.INFO, seq, self.info.encode())]
        if t == T.INFER:
            image = self._parse(m.Image.decode, frame.payload)
            px = image.pixels
            if image.kind != m.ImageKind.MODEL_INPUT or px.dtype != np.int8 or px.shape != self.input_hwc:
                got = f"{'x'.join(map(str, px.shape))} {px.dtype} kind {int(image.kind)}"
                raise _Reply(m.ErrorCode.BAD_SHAPE, f"INFER needs int8 {'x'.join(map(str, self.input_hwc))}, got {got}")
            return [(T.RESULT, seq, self._infer(px).encode())]
        if t == T.CAPTURE:
            flags = self._parse(m.decode_capture, frame.payload)
            group, failure = self._capture(flags)
            if failure is not None:
                self._emit([(ty, seq, body) for ty, body in group], gen)
                raise failure
            return [(ty, seq, body) for ty, body in group]
        if t == T.STREAM_STOP:
            return [(T.ACK, seq, m.encode_ack(T.STREAM_STOP))]
        if t == T.SELFTEST:
            self._parse(m.decode_selftest, frame.payload)
            return [(T.REPORT, seq, self.selftest().encode())]
        if t == T.SET_FRAME:
            image = self._parse(m.Image.decode, frame.payload)
            px = image.pixels
            if image.kind != m.ImageKind.RAW or px.dtype != np.uint8 or px.shape != RAW_SHAPE + (1,):
                raise _Reply(m.ErrorCode.BAD_SHAPE, "SET_FRAME needs a uint8 324x244x1 raw frame (kind 1)")
            self._set_frame = px[:, :, 0].copy()
            return [(T.ACK, seq, m.encode_ack(T.SET_FRAME))]
        if t == T.SET_PIPELINE:
            self._pipeline = self._parse(m.decode_pipeline, frame.payload)
            return [(T.ACK, seq, m.encode_ack(T.SET_PIPELINE))]
        if t == T.STAGE and self.staging:
            stage = self._parse(m.Stage.decode, frame.payload)
            end = stage.offset + len(stage.data)
            if end > len(self._staging):
                raise _Reply(m.ErrorCode.TOO_LARGE, f"STAGE ends at {end} > staging buffer {len(self._staging)}")
            with self._lock:  # a reset in between empties the buffer; the old request must not refill it
                if gen == self._generation:
                    self._staging[stage.offset : end] = stage.data
            self.counters["staged_chunks"] += 1
            return [(T.ACK, seq, m.encode_ack(T.STAGE))]
        if t == T.INFER_STAGED and self.staging:
            staged = self._parse(m.InferStaged.decode, frame.payload)
            if staged.kind != m.ImageKind.MODEL_INPUT or staged.dtype != 1 or staged.shape != self.input_hwc:
                got = f"{'x'.join(map(str, staged.shape))} dtype {staged.dtype} kind {staged.kind}"
                raise _Reply(
                    m.ErrorCode.BAD_SHAPE, f"INFER_STAGED needs int8 {'x'.join(map(str, self.input_hwc))}, got {got}"
                )
            pixels = bytes(self._staging[: staged.pixel_bytes])
            if crc32(pixels) != staged.pixel_crc32:
                self.counters["stage_mismatches"] += 1
                raise _Reply(
                    m.ErrorCode.STAGE_MISMATCH, f"staged CRC-32 {crc32(pixels):08x} != {staged.pixel_crc32:08x}"
                )
            self.counters["staged_inferences"] += 1
            x = np.frombuffer(pixels, dtype=np.int8).reshape(self.input_hwc)
            return [(T.RESULT, seq, self._infer(x).encode())]
        raise _Reply(m.ErrorCode.UNKNOWN_TYPE, f"type 0x{t:02x}")

    def _infer(self, x: np.ndarray) -> m.Result:
        with self._twin_lock:
            if self._twin is None:
                try:
                    self._twin = self._twin_factory()
                except UserError as exc:
                    raise _Reply(m.ErrorCode.INFERENCE_FAILED, str(exc)) from None
            t0 = time.perf_counter()
            try:
                out = self._twin.invoke(x.reshape(self.input_shape))
            except UserError as exc:  # TflmAbort: the child died; start a fresh one next time
                self._twin.close()
                self._twin = None
                self.warn(f"inference failed, still serving: {exc}")
                raise _Reply(m.ErrorCode.INFERENCE_FAILED, str(exc)) from None
            latency = time.perf_counter() - t0
        self.counters["inferences"] += 1
        scores = np.ascontiguousarray(out).reshape(-1)
        if scores.dtype != np.int8:
            scores = scores.astype(np.uint8 if scores.dtype == np.uint8 else np.int8).view(np.int8)
        return m.Result(scores, int(latency * 1e6), 0)

    @contextlib.contextmanager
    def _capture_window(self):
        """A camera read: with --deaf-capture it lasts that long and the receiver hears nothing meanwhile."""
        self.counters["capture_windows"] += 1
        if not self.deaf_capture:
            yield
            return
        self._deaf = True
        try:
            time.sleep(self.deaf_capture)
            yield
        finally:
            self._deaf = False

    def _expected_selftest_output(self) -> np.ndarray | None:
        """What codegen would embed: the built-in input's output from a runtime of its own (None if it fails)."""
        if self._selftest_expected is None:
            try:
                runtime = self._twin_factory()
            except UserError:
                return None
            try:
                out = np.asarray(runtime.invoke(self._selftest_input)).reshape(-1)
            except UserError:
                return None
            finally:
                if runtime is not self._twin:
                    runtime.close()
            self._selftest_expected = out.view(np.int8) if out.dtype == np.uint8 else out.astype(np.int8)
        return self._selftest_expected

    def selftest(self) -> m.SelftestReport:
        """SELFTEST: the simulated sensor and board measured, faults included (virtual_boards/sim/hardware.py)."""
        self.counters["selftests"] += 1
        hw = self.hardware
        scene_mean = 0.0
        if self.has_camera:
            with self._capture_window():
                scene_mean = 0.0 if hw.no_sensor or hw.no_vsync else float(self.camera.frame().mean())
        checks = camera_checks(hw, scene_mean, fitted=self.has_camera)
        expected = self._expected_selftest_output()
        try:
            if expected is None:  # the runtime cannot run the model at all
                raise _Reply(m.ErrorCode.INFERENCE_FAILED, "no expected output")
            out = self._infer(self._selftest_input).scores.copy()
        except _Reply:
            mismatches = self._output_count  # the model did not run: no output value is right
        else:
            if hw.model_mismatch:  # as a board whose kernels round one value differently
                out[0] = np.int8(int(out[0]) ^ 1)
            mismatches = int(np.count_nonzero(out != expected))
        checks += board_checks(hw, self.arena_used, self.arena_size, mismatches)
        return m.SelftestReport(tuple(checks))

    def _capture(self, flags: m.CaptureFlags) -> tuple[list[tuple[int, bytes]], _Reply | None]:
        """The FRAME(s) and RESULT of one capture, and the ERROR that ends it early (None when it does not).

        Request checks come before the camera (docs/protocol.md section 4); frames already captured are
        sent before an inference failure's ERROR, as the firmware, which streams them out first, must.
        """
        infer = not flags & m.CaptureFlags.NO_INFER
        if infer and not self._feeds_model:
            shape = "x".join(map(str, self.input_hwc))
            return [], _Reply(m.ErrorCode.BAD_SHAPE, f"the camera pipeline cannot make the model's input {shape}")
        # Without inference a model the pipeline cannot feed still gets the original detector's 96x96x1.
        h, w, c = self.input_hwc if self._feeds_model else (OUT, OUT, 1)
        raw = self._set_frame
        if raw is None and not self.has_camera:
            raw = test_pattern()
        if raw is None:
            try:
                with self._capture_window():
                    raw = self.camera.frame()
            except OSError as exc:
                return [], _Reply(m.ErrorCode.CAMERA_FAILED, str(exc))
        pixels = np.repeat(resample(raw, h, w, self._pipeline)[:, :, None], c, axis=2)
        out = [(T.FRAME, m.Image(pixels, m.ImageKind.MODEL_INPUT).encode())]
        if flags & m.CaptureFlags.RAW:
            out.append((T.FRAME, m.Image(raw[:, :, None], m.ImageKind.RAW).encode()))
        if infer:
            try:
                out.append((T.RESULT, self._infer(self._input_table[pixels]).encode()))
            except _Reply as reply:
                return out, reply
        return out, None

    def _stream(self, start: m.StreamStart, gen: int) -> None:
        period = 1.0 / start.max_fps if start.max_fps else 0.0
        sent = 0
        next_due = time.monotonic()
        while not self._stop.is_set() and gen == self._generation and (not start.count or sent < start.count):
            # Requests that arrive while streaming: HELLO and STREAM_STOP are served, the rest is BUSY.
            wait = max(0.0, next_due - time.monotonic())
            try:
                rgen, frame = self._requests.get(timeout=wait) if wait else self._requests.get_nowait()
            except queue.Empty:
                frame = None
            if frame is not None:
                if rgen != gen:
                    continue
                self.counters["requests"] += 1
                if frame.type == T.STREAM_STOP:
                    self._emit([(T.ACK, frame.seq, m.encode_ack(T.STREAM_STOP))], gen)
                    return
                if frame.type == T.HELLO:
                    self._emit([(T.INFO, frame.seq, self.info.encode())], gen)
                elif not self._knows(frame.type):
                    body = m.ErrorMsg(int(m.ErrorCode.UNKNOWN_TYPE), frame.type, f"type 0x{frame.type:02x}").encode()
                    self._emit([(T.ERROR, frame.seq, body)], gen)
                else:
                    body = m.ErrorMsg(int(m.ErrorCode.BUSY), frame.type, "streaming; send STREAM_STOP first").encode()
                    self._emit([(T.ERROR, frame.seq, body)], gen)
                continue
            if time.monotonic() < next_due:
                continue
            if not self._tx.empty():
                # Like the firmware: capture the next group while the previous one is on the wire, no
                # further ahead, so a live view stays live and STREAM_STOP is answered promptly.
                next_due = time.monotonic() + 0.002
                continue
            if self.deaf_capture and (
                self._tx_busy or self._decoder.pending or time.monotonic() - self._quiet_since < STREAM_LISTEN_S
            ):
                # A deaf board captures only after a quiet listen window, never with a frame half received.
                next_due = time.monotonic() + 0.005
                continue
            next_due = max(next_due + period, time.monotonic()) if period else 0.0
            group, failure = self._capture(start.flags)
            if failure is not None:  # the ERROR ends the group, under its seq, and the stream
                body = m.ErrorMsg(int(failure.code), int(T.STREAM_START), failure.text).encode()
                self._send_unsolicited(group + [(T.ERROR, body)], gen)
                return
            self._send_unsolicited(group, gen)
            self.counters["groups"] += 1
            sent += 1

    # ------------------------------------------------------------- transmit

    def _send_unsolicited(self, bodies: list[tuple[int, bytes]], gen: int) -> None:
        """Frames of one group (boot INFO, a stream group) under one device seq."""
        with self._lock:
            seq = self._dev_seq
            self._dev_seq = (self._dev_seq + 1) & 0xFFFF
        self._emit([(t, seq, body) for t, body in bodies], gen)

    def _emit(self, frames: list[tuple[int, int, bytes]], gen: int) -> None:
        data = b"".join(encode_frame(int(t), seq, body) for t, seq, body in frames)
        while not self._stop.is_set() and gen == self._generation:
            try:
                self._tx.put((gen, data), timeout=0.1)
                return
            except queue.Full:
                continue

    def _tx_loop(self) -> None:
        rate = self.line_rate
        clock = time.monotonic()
        while not self._stop.is_set():
            try:
                gen, data = self._tx.get_nowait()
                waiting = True  # queued behind the previous frame: it follows without a gap
            except queue.Empty:
                try:
                    gen, data = self._tx.get(timeout=0.1)
                except queue.Empty:
                    continue
                waiting = False
            if gen != self._generation:
                continue
            self._tx_busy = True
            try:
                data = self._tx_faults.apply(data)
                if not rate:
                    self._transport.write(data, self._stop)
                    continue
                if not waiting:
                    clock = max(clock, time.monotonic())
                for i in range(0, len(data), 1024):
                    chunk = data[i : i + 1024]
                    now = time.monotonic()
                    if clock > now:
                        time.sleep(clock - now)
                    self._transport.write(chunk, self._stop)
                    clock += len(chunk) / rate
            finally:
                self._quiet_since = time.monotonic()
                self._tx_busy = False


def start_sim_in_thread(
    model_path: str | Path,
    camera_dir: str | Path | None = None,
    baud: int | None = None,
    faults: FaultConfig | None = None,
    tcp: bool | tuple[str, int] = False,
    **kwargs,
):
    """Start a SimBoard serving in background threads; returns (url, stop_fn).

    tcp=False serves on a pty (url /dev/pts/N); tcp=True on 127.0.0.1 and a free port; a (host, port)
    tuple on that address (url socket://host:port).
    """
    board = SimBoard(model_path, camera_dir, baud, faults, **kwargs)
    board.serve(tcp)

    def stop() -> None:
        board.stop()

    stop.board = board  # type: ignore[attr-defined]  # for tests that look at the board's counters
    return board.url, stop
