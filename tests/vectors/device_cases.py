"""The device-behaviour cases of docs/protocol.md section 7: what a conforming device must answer.

Each case starts a fresh device of a given profile, sends it byte streams and lists the exact reply
frames it must send, with the payload bytes that carry measured values masked. `make_vectors.py` writes
them to `device/behaviour.txt`; the C++ command loop (firmware/tests/test_device_vectors.cc) and the
simulated board (tests/test_device_vectors.py) both replay that one file.

Adding a message type = adding a `case_*` function below (it is found by its name) and, when its reply
carries measured values, a line in MASKS. The expected replies are written from the spec with the
reference encoders, never recorded from a device, so a device bug cannot become the golden answer.

The device under test runs the "mean classifier" (firmware/tests/fakes.h, vwwdeploy/testing/): output
[1, 2] int8, score[1] = clamp(mean of the int8 input, truncated toward zero, -127..127), score[0] =
-score[1], so a RESULT proves which input the device fed to the model.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from vwwdeploy.link.protocol import messages as m  # noqa: E402
from vwwdeploy.link.protocol import pipeline  # noqa: E402
from vwwdeploy.link.protocol.crc import crc32  # noqa: E402
from vwwdeploy.link.protocol.framing import encode_frame  # noqa: E402

T = m.MsgType
E = m.ErrorCode

# Payload bytes not compared, by reply type, as `start:end` slices (end empty = to the end of the payload).
MASKS = {
    # kernels; firmware version, clock, arena size and used; model sha256; board, firmware name, labels
    T.INFO: "1:2,4:20,24:56,104:",
    T.RESULT: "0:12",  # inference time (us) and instruction count: measured by the board
    T.ERROR: "3:",  # the text is for people; code and request type are the behaviour
    # Of the 20 CHECK records: the measured value of each, and expected + tolerance of core_clock, arena and stack
    # (records 15-17), which the board derives from its own clock and memory. The spec's fixed expectations
    # (sensor ID, frame geometry, frame rate, exposure, ...) are compared: both implementations must carry them.
    T.REPORT: ",".join(f"{5 + 16 * i}:{(17 if i in (15, 16, 17) else 9) + 16 * i}" for i in range(20)),
}
# Payloads longer than this are written as `crc:LENGTH:CRC32` (raw frames would make lines of 158 kB).
INLINE_LIMIT = 1024
DEFAULT_DEVICE = {"input": "96x96x1", "camera": "none", "staging": "yes", "invoke": "ok", "max_rx": "80000"}


def _ramp(n: int, mul: int = 13, add: int = 5) -> bytes:
    return bytes((i * mul + add + (i >> 8)) & 0xFF for i in range(n))


def mean_scores(x: np.ndarray) -> np.ndarray:
    """The mean classifier's output for int8 input x."""
    total = int(x.astype(np.int64).sum())
    mean = abs(total) // x.size * (1 if total >= 0 else -1)  # C++ integer division truncates toward zero
    mean = max(-127, min(127, mean))
    return np.array([-mean, mean], dtype=np.int8)


class Case:
    """Builds one case: the device profile, then steps (boot / send / idle), each with its replies."""

    def __init__(self, name: str, **device: str):
        unknown = set(device) - set(DEFAULT_DEVICE)
        assert not unknown, unknown
        self.name = name
        self.device = {**DEFAULT_DEVICE, **device}
        h, w, c = (int(v) for v in self.device["input"].split("x"))
        self.hwc = (h, w, c)
        self.mode = 0
        self.set_frame: np.ndarray | None = None
        self.dev_seq = 0  # the device's own counter: boot INFO, stream groups
        self.lines = [f"case {name}", "device " + " ".join(f"{k}={v}" for k, v in self.device.items())]
        self.boot()

    # ---- steps

    def boot(self) -> None:
        self.lines.append("boot")
        self.reply(T.INFO, self.next_dev_seq(), self.info())

    def send(self, type_: int, seq: int, payload: bytes = b"") -> None:
        self.send_bytes(encode_frame(int(type_), seq, payload))

    def send_bytes(self, data: bytes) -> None:
        self.lines.append(f"send {data.hex()}")

    def idle(self) -> None:
        self.lines.append("idle")

    def reply(self, type_: int, seq: int, payload: bytes) -> None:
        mask = MASKS.get(type_)
        body = payload.hex() or "-"
        if len(payload) > INLINE_LIMIT:
            assert mask is None, "a masked payload must be inline"
            body = f"crc:{len(payload)}:{crc32(payload):08x}"
        self.lines.append(f"reply {int(type_)} {seq} {body}" + (f" mask={mask}" if mask else ""))

    def next_dev_seq(self) -> int:
        seq, self.dev_seq = self.dev_seq, self.dev_seq + 1
        return seq

    # ---- expected payloads

    def info(self) -> bytes:
        h, w, c = self.hwc
        caps = m.Capability(0)
        if self.device["camera"] != "none":
            caps |= m.Capability.CAMERA
        if int(self.device["max_rx"]) >= 8 + pipeline.RAW_SHAPE[0] * pipeline.RAW_SHAPE[1]:
            caps |= m.Capability.SET_FRAME
        if self.device["staging"] == "yes":
            caps |= m.Capability.STAGED
        return m.DeviceInfo(
            protocol_version=m.PROTOCOL_VERSION,
            firmware_version="0.0.0",
            board="masked",
            firmware_name="masked",
            model_sha256="00" * 32,
            input=m.TensorInfo((1, h, w, c), "int8", 2 / 255, -1),
            output=m.TensorInfo((1, 2), "int8", 1 / 256, -128),
            arena_size=0,
            arena_used=0,
            kernels="unknown",
            clock_hz=0,
            labels=(),
            capabilities=caps,
            max_rx_payload=int(self.device["max_rx"]),
            pipeline_mode=m.PipelineMode(self.mode),
        ).encode()

    def result(self, x: np.ndarray) -> bytes:
        return m.Result(mean_scores(x), 0, 0).encode()

    def error(self, code: E, request_type: int) -> bytes:
        return m.ErrorMsg(int(code), int(request_type), "").encode()

    def ack(self, type_: int) -> bytes:
        return m.encode_ack(type_)

    def raw_frame(self) -> np.ndarray:
        return self.set_frame if self.set_frame is not None else pipeline.test_pattern()

    def capture_replies(self, seq: int, flags: int, request_type: int = T.CAPTURE) -> None:
        """FRAME (input), [FRAME (raw)], RESULT of a CAPTURE or one stream group, or the ERROR instead."""
        h, w, c = self.hwc
        feeds_model = pipeline.supports_shape(h, w, c)
        infer = not flags & m.CaptureFlags.NO_INFER
        if infer and not feeds_model:
            self.reply(T.ERROR, seq, self.error(E.BAD_SHAPE, request_type))
            return
        if self.device["camera"] == "failing" and self.set_frame is None:
            self.reply(T.ERROR, seq, self.error(E.CAMERA_FAILED, request_type))
            return
        raw = self.raw_frame()
        # Without inference a model the pipeline cannot feed still gets the original detector's 96x96x1.
        fh, fw, fc = (h, w, c) if feeds_model else (pipeline.OUT, pipeline.OUT, 1)
        px = np.repeat(pipeline.resample(raw, fh, fw, self.mode)[:, :, None], fc, axis=2)
        self.reply(T.FRAME, seq, m.Image(px, m.ImageKind.MODEL_INPUT).encode())
        if flags & m.CaptureFlags.RAW:
            self.reply(T.FRAME, seq, m.Image(raw[:, :, None], m.ImageKind.RAW).encode())
        if infer and self.device["invoke"] == "fail":  # the frames are out already: the ERROR follows them
            self.reply(T.ERROR, seq, self.error(E.INFERENCE_FAILED, request_type))
        elif infer:
            x = pipeline.camera_input(raw, h, w, c, 2 / 255, -1, self.mode)
            self.reply(T.RESULT, seq, self.result(x))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def infer_image(h: int = 96, w: int = 96, c: int = 1) -> m.Image:
    px = np.frombuffer(_ramp(h * w * c), dtype=np.int8).reshape(h, w, c)
    return m.Image(px, m.ImageKind.MODEL_INPUT)


def image_bytes(w: int, h: int, c: int, dtype: int, kind: int, pixels: bytes) -> bytes:
    return bytes([w & 0xFF, w >> 8, h & 0xFF, h >> 8, c, dtype, kind, 0]) + pixels


def staged(image: m.Image) -> bytes:
    h, w, c = image.pixels.shape
    return m.InferStaged(w, h, c, 1, int(image.kind), crc32(image.pixels.tobytes())).encode()


# ---------------------------------------------------------------------------------------------- cases


def case_hello() -> Case:
    k = Case("hello")
    k.send(T.HELLO, 0)
    k.reply(T.INFO, 0, k.info())
    k.send(T.HELLO, 65535, b"ignored")  # HELLO ignores its payload: it must work whatever the host believes
    k.reply(T.INFO, 65535, k.info())
    return k


def case_garbage_then_hello() -> Case:
    k = Case("garbage_then_hello")
    k.send_bytes(bytes(random.Random(1).randrange(256) for _ in range(300)).replace(b"VW", b"vw"))
    k.send(T.HELLO, 1)
    k.reply(T.INFO, 1, k.info())
    return k


def case_infer() -> Case:
    k = Case("infer")
    image = infer_image()
    k.send(T.INFER, 0, image.encode())
    k.reply(T.RESULT, 0, k.result(image.pixels))
    k.send(T.INFER, 0, image.encode())  # a retry: same bytes, same seq, executed again
    k.reply(T.RESULT, 0, k.result(image.pixels))
    other = m.Image(-image.pixels, m.ImageKind.MODEL_INPUT)
    k.send_bytes(encode_frame(T.INFER, 1, image.encode()) + encode_frame(T.INFER, 2, other.encode()))  # pipelined
    k.reply(T.RESULT, 1, k.result(image.pixels))
    k.reply(T.RESULT, 2, k.result(other.pixels))
    return k


def case_infer_rgb() -> Case:
    k = Case("infer_rgb", input="96x96x3")
    image = infer_image(c=3)
    k.send(T.INFER, 7, image.encode())
    k.reply(T.RESULT, 7, k.result(image.pixels))
    return k


def case_infer_errors() -> Case:
    k = Case("infer_errors")
    px = _ramp(96 * 96)
    refused = [
        (image_bytes(96, 96, 3, 1, 0, _ramp(96 * 96 * 3)), E.BAD_SHAPE),  # another shape
        (image_bytes(96, 96, 1, 2, 0, px), E.BAD_SHAPE),  # uint8
        (image_bytes(96, 96, 1, 1, 1, px), E.BAD_SHAPE),  # kind 1 (raw frame)
        (image_bytes(96, 96, 1, 7, 0, px), E.BAD_SHAPE),  # a dtype code the spec does not define
        (image_bytes(96, 96, 2, 1, 0, _ramp(96 * 96 * 2)), E.BAD_SHAPE),  # 2 channels
        (px[:5], E.BAD_PAYLOAD),  # shorter than the image header
        (image_bytes(96, 96, 1, 1, 0, px[:100]), E.BAD_PAYLOAD),  # length disagrees with the header
        (image_bytes(96, 96, 1, 7, 0, px[:100]), E.BAD_PAYLOAD),  # length checked before dtype
        (b"", E.BAD_PAYLOAD),
    ]
    for seq, (payload, code) in enumerate(refused):
        k.send(T.INFER, seq, payload)
        k.reply(T.ERROR, seq, k.error(code, T.INFER))
    return k


def case_inference_failed() -> Case:
    k = Case("inference_failed", invoke="fail")
    k.send(T.INFER, 3, infer_image().encode())
    k.reply(T.ERROR, 3, k.error(E.INFERENCE_FAILED, T.INFER))
    k.send(T.HELLO, 4)  # still serving
    k.reply(T.INFO, 4, k.info())
    return k


def case_capture() -> Case:
    k = Case("capture")  # no camera, no SET_FRAME: the test pattern
    for seq, flags in enumerate((0, 1, 2, 3)):
        k.send(T.CAPTURE, seq, bytes([flags]))
        k.capture_replies(seq, flags)
    return k


def case_capture_rgb() -> Case:
    k = Case("capture_rgb", input="96x96x3")
    k.send(T.CAPTURE, 0, b"\x00")
    k.capture_replies(0, 0)
    return k


def case_capture_other_shape() -> Case:
    # The issue-12 case: without inference the model's shape does not matter, the FRAME is 96x96x1.
    k = Case("capture_other_shape", input="16x16x1")
    for seq, flags in enumerate((2, 0, 3, 1)):
        k.send(T.CAPTURE, seq, bytes([flags]))
        k.capture_replies(seq, flags)
    return k


def case_capture_any_shape() -> Case:
    # Any shape the pipeline makes (section 5) is captured at the model's own size, in both modes.
    k = Case("capture_any_shape", input="80x80x3")
    k.send(T.CAPTURE, 0, b"\x00")
    k.capture_replies(0, 0)
    k.send(T.SET_PIPELINE, 1, b"\x01")
    k.reply(T.ACK, 1, k.ack(T.SET_PIPELINE))
    k.mode = 1
    k.send(T.CAPTURE, 2, b"\x03")
    k.capture_replies(2, 3)
    return k


def case_capture_tall_shape() -> Case:
    k = Case("capture_tall_shape", input="128x72x1")
    for seq, flags in enumerate((0, 2)):
        k.send(T.CAPTURE, seq, bytes([flags]))
        k.capture_replies(seq, flags)
    return k


def case_capture_errors() -> Case:
    k = Case("capture_errors")
    for seq, payload in enumerate((b"", b"\x04", b"\x80", b"\x00\x00")):
        k.send(T.CAPTURE, seq, payload)
        k.reply(T.ERROR, seq, k.error(E.BAD_PAYLOAD, T.CAPTURE))
    return k


def case_camera_failed() -> Case:
    k = Case("camera_failed", camera="failing")
    k.send(T.CAPTURE, 0, b"\x00")
    k.capture_replies(0, 0)
    k.send(T.CAPTURE, 1, b"\x02")
    k.capture_replies(1, 2)
    return k


def case_set_frame_replaces_camera() -> Case:
    # A SET_FRAME frame serves CAPTURE until the next reset, camera or not (docs/protocol.md section 4).
    k = Case("set_frame_replaces_camera", camera="failing")
    raw = np.frombuffer(_ramp(pipeline.RAW_SHAPE[0] * pipeline.RAW_SHAPE[1], 7, 1), dtype=np.uint8)
    raw = raw.reshape(pipeline.RAW_SHAPE)
    k.send(T.CAPTURE, 0, b"\x02")
    k.capture_replies(0, 2)
    k.send(T.SET_FRAME, 1, m.Image(raw[:, :, None], m.ImageKind.RAW).encode())
    k.reply(T.ACK, 1, k.ack(T.SET_FRAME))
    k.set_frame = raw
    k.send(T.CAPTURE, 2, b"\x00")
    k.capture_replies(2, 0)
    return k


def case_capture_checks_before_camera() -> Case:
    # Request checks come before actions: a shape the pipeline cannot feed is refused without a capture.
    k = Case("capture_checks_before_camera", input="16x16x1", camera="failing")
    k.send(T.CAPTURE, 0, b"\x00")
    k.capture_replies(0, 0)
    return k


def case_capture_inference_failed() -> Case:
    k = Case("capture_inference_failed", invoke="fail")
    k.send(T.CAPTURE, 0, b"\x00")
    k.capture_replies(0, 0)
    k.send(T.CAPTURE, 1, b"\x02")  # no inference: still served
    k.capture_replies(1, 2)
    return k


def case_set_pipeline() -> Case:
    k = Case("set_pipeline")
    k.send(T.SET_PIPELINE, 0, b"\x01")
    k.reply(T.ACK, 0, k.ack(T.SET_PIPELINE))
    k.mode = 1
    k.send(T.HELLO, 1)
    k.reply(T.INFO, 1, k.info())  # INFO reports the mode
    k.send(T.CAPTURE, 2, b"\x00")
    k.capture_replies(2, 0)
    for seq, payload in ((3, b"\x02"), (4, b""), (5, b"\x00\x00")):
        k.send(T.SET_PIPELINE, seq, payload)
        k.reply(T.ERROR, seq, k.error(E.BAD_PAYLOAD, T.SET_PIPELINE))
    k.send(T.SET_PIPELINE, 6, b"\x00")
    k.reply(T.ACK, 6, k.ack(T.SET_PIPELINE))
    k.mode = 0
    k.send(T.CAPTURE, 7, b"\x00")
    k.capture_replies(7, 0)
    return k


def case_set_frame() -> Case:
    k = Case("set_frame")
    h, w = pipeline.RAW_SHAPE
    y, x = np.mgrid[0:h, 0:w]
    raw = ((x * 255) // (w - 1)).astype(np.uint8) ^ ((y * 255) // (h - 1)).astype(np.uint8)
    k.send(T.SET_FRAME, 0, m.Image(raw[:, :, None], m.ImageKind.RAW).encode())
    k.reply(T.ACK, 0, k.ack(T.SET_FRAME))
    k.set_frame = raw
    k.send(T.CAPTURE, 1, b"\x00")
    k.capture_replies(1, 0)
    k.send(T.CAPTURE, 2, b"\x01")  # the frame stays until the next reset
    k.capture_replies(2, 1)
    small = _ramp(96 * 96)
    for seq, payload, code in (
        (3, image_bytes(96, 96, 1, 2, 1, small), E.BAD_SHAPE),  # not 324x244
        (4, image_bytes(324, 244, 1, 1, 1, _ramp(324 * 244)), E.BAD_SHAPE),  # int8
        (5, image_bytes(324, 244, 1, 2, 0, b"")[:8], E.BAD_PAYLOAD),  # a header alone
        (6, image_bytes(324, 244, 1, 2, 1, small), E.BAD_PAYLOAD),  # length disagrees with the header
        (7, b"\x01\x02", E.BAD_PAYLOAD),
    ):
        k.send(T.SET_FRAME, seq, payload)
        k.reply(T.ERROR, seq, k.error(code, T.SET_FRAME))
    k.send(T.CAPTURE, 8, b"\x00")  # a refused SET_FRAME leaves the last good frame
    k.capture_replies(8, 0)
    return k


def case_stream_count() -> Case:
    k = Case("stream_count")
    k.send(T.STREAM_START, 0, m.StreamStart(m.CaptureFlags(0), 0, 2).encode())
    k.reply(T.ACK, 0, k.ack(T.STREAM_START))
    for _ in range(2):
        k.capture_replies(k.next_dev_seq(), 0, T.STREAM_START)
    k.send(T.INFER, 1, infer_image().encode())  # the stream ended by itself: requests are served again
    k.reply(T.RESULT, 1, k.result(infer_image().pixels))
    k.send(T.STREAM_STOP, 2)  # STREAM_STOP when not streaming is still acknowledged
    k.reply(T.ACK, 2, k.ack(T.STREAM_STOP))
    return k


def case_stream_raw_no_infer() -> Case:
    k = Case("stream_raw_no_infer", input="16x16x1")
    k.send(T.STREAM_START, 0, m.StreamStart(m.CaptureFlags(3), 0, 1).encode())
    k.reply(T.ACK, 0, k.ack(T.STREAM_START))
    k.capture_replies(k.next_dev_seq(), 3, T.STREAM_START)
    return k


def case_stream_busy() -> Case:
    k = Case("stream_busy")
    # 1 frame a second: the first group goes out at once, the requests below arrive before the second.
    k.send(T.STREAM_START, 0, m.StreamStart(m.CaptureFlags(0), 1, 0).encode())
    k.reply(T.ACK, 0, k.ack(T.STREAM_START))
    k.capture_replies(k.next_dev_seq(), 0, T.STREAM_START)
    busy = [
        (T.INFER, infer_image().encode()),
        (T.CAPTURE, b"\x00"),
        (T.STREAM_START, m.StreamStart(m.CaptureFlags(0), 0, 1).encode()),
        (T.SET_PIPELINE, b"\x01"),
        (T.SET_FRAME, b""),
        (T.STAGE, b"\x00\x00\x00\x00\x01"),
        (T.INFER_STAGED, b""),
        (T.SELFTEST, b""),
        (0x0B, b""),  # BUSY comes before UNKNOWN_TYPE only for known types; see unknown_types
    ]
    stream = b""
    for seq, (type_, payload) in enumerate(busy, start=1):
        stream += encode_frame(int(type_), seq, payload)
    stream += encode_frame(T.HELLO, 20) + encode_frame(T.STREAM_STOP, 21)
    k.send_bytes(stream)
    for seq, (type_, _) in enumerate(busy, start=1):
        code = E.UNKNOWN_TYPE if type_ == 0x0B else E.BUSY
        k.reply(T.ERROR, seq, k.error(code, type_))
    k.reply(T.INFO, 20, k.info())
    k.reply(T.ACK, 21, k.ack(T.STREAM_STOP))
    k.send(T.INFER, 22, infer_image().encode())
    k.reply(T.RESULT, 22, k.result(infer_image().pixels))
    return k


def case_stream_errors() -> Case:
    k = Case("stream_errors", input="16x16x1")
    for seq, payload in enumerate((b"", b"\x00" * 7, b"\x04" + b"\x00" * 7, b"\x00" * 9)):
        k.send(T.STREAM_START, seq, payload)
        k.reply(T.ERROR, seq, k.error(E.BAD_PAYLOAD, T.STREAM_START))
    # A stream whose group fails sends ERROR under the device's seq and stops.
    k.send(T.STREAM_START, 10, m.StreamStart(m.CaptureFlags(0), 0, 0).encode())
    k.reply(T.ACK, 10, k.ack(T.STREAM_START))
    k.capture_replies(k.next_dev_seq(), 0, T.STREAM_START)
    k.send(T.SET_PIPELINE, 11, b"\x01")  # not streaming any more: no BUSY
    k.reply(T.ACK, 11, k.ack(T.SET_PIPELINE))
    return k


def case_staged() -> Case:
    k = Case("staged")
    image = infer_image()
    data = image.pixels.tobytes()
    stream = b""
    for seq, offset in enumerate(range(0, len(data), 1024)):
        stream += encode_frame(T.STAGE, seq, m.Stage(offset, data[offset : offset + 1024]).encode())
    k.send_bytes(stream)
    for seq in range(len(data) // 1024):
        k.reply(T.ACK, seq, k.ack(T.STAGE))
    k.send(T.INFER_STAGED, 20, staged(image))
    k.reply(T.RESULT, 20, k.result(image.pixels))  # exactly the RESULT of INFER
    # One byte restaged differently: the CRC named no longer matches.
    k.send(T.STAGE, 21, m.Stage(100, bytes([data[100] ^ 1])).encode())
    k.reply(T.ACK, 21, k.ack(T.STAGE))
    k.send(T.INFER_STAGED, 22, staged(image))
    k.reply(T.ERROR, 22, k.error(E.STAGE_MISMATCH, T.INFER_STAGED))
    return k


def case_staged_errors() -> Case:
    k = Case("staged_errors")
    size = m.STAGING_MIN_BYTES  # a 96x96x1 model: the minimal staging buffer
    cases = [
        (T.STAGE, m.Stage(size - 10, bytes(20)).encode(), E.TOO_LARGE),  # ends beyond the buffer
        (T.STAGE, m.Stage(size, b"\x01").encode(), E.TOO_LARGE),
        (T.STAGE, (0xFFFFFFFF).to_bytes(4, "little") + b"\x01", E.TOO_LARGE),  # offset + length overflows u32
        (T.STAGE, b"\x00\x00\x00\x00", E.BAD_PAYLOAD),  # no data
        (T.STAGE, bytes(4 + 1025), E.BAD_PAYLOAD),  # more than 1024 data bytes
        (T.INFER_STAGED, staged(infer_image())[:11], E.BAD_PAYLOAD),
        (T.INFER_STAGED, staged(infer_image()) + b"\x00", E.BAD_PAYLOAD),
        (T.INFER_STAGED, staged(infer_image(c=3)), E.BAD_SHAPE),
        (T.INFER_STAGED, staged(infer_image(64, 64)), E.BAD_SHAPE),
    ]
    for seq, (type_, payload, code) in enumerate(cases):
        k.send(type_, seq, payload)
        k.reply(T.ERROR, seq, k.error(code, type_))
    k.send(T.STAGE, 20, m.Stage(size - 4, b"\xaa" * 4).encode())  # the last bytes of the buffer are fine
    k.reply(T.ACK, 20, k.ack(T.STAGE))
    return k


def case_no_staging() -> Case:
    k = Case("no_staging", staging="no")  # a firmware without staged transfer: capability bit 3 clear
    k.send(T.STAGE, 0, m.Stage(0, b"\x01").encode())
    k.reply(T.ERROR, 0, k.error(E.UNKNOWN_TYPE, T.STAGE))
    k.send(T.INFER_STAGED, 1, staged(infer_image()))
    k.reply(T.ERROR, 1, k.error(E.UNKNOWN_TYPE, T.INFER_STAGED))
    return k


def case_unknown_types() -> Case:
    k = Case("unknown_types")
    # Types no request has, a device-to-host type echoed back, the top of the range: the type is echoed.
    for seq, type_ in enumerate((0x00, 0x0B, 0x3F, 0x40, 0x81, 0x8F, 0xFF)):
        k.send(type_, seq, b"\x01\x02")
        k.reply(T.ERROR, seq, k.error(E.UNKNOWN_TYPE, type_))
    return k


def selftest_report(model: m.CheckStatus) -> bytes:
    """The REPORT of a board without camera (docs/protocol.md, "Self-test"): camera checks and heap not
    applicable, clock, arena and stack measured and passing, model_output as given. Figures are masked."""
    C, R, S = m.CheckId, m.CheckRule, m.CheckStatus
    # (id, rule, expected, tolerance): the spec's table, docs/protocol.md "Self-test".
    na = [
        (C.SENSOR_ID, R.EQUAL, m.SENSOR_MODEL_ID, 0),
        (C.PATTERN_PIXELS, R.AT_LEAST, m.RAW_FRAME_PIXELS, 0),
        *((C.DATA_D0 + k, R.EQUAL, 0, 0) for k in range(8)),
        (C.FRAME_RATE, R.AT_LEAST, m.MIN_FRAME_RATE_MILLI, 0),
        (C.PIXELS_PER_LINE, R.EQUAL, pipeline.RAW_WIDTH, 0),
        (C.LINES_PER_FRAME, R.EQUAL, pipeline.RAW_HEIGHT, 0),
        (C.EXPOSURE_CONVERGED, R.EQUAL, 1, 0),
        (C.EXPOSURE_MEAN, R.WITHIN, m.EXPOSURE_TARGET, m.EXPOSURE_TOLERANCE),
    ]
    checks = [m.Check(int(i), S.NOT_APPLICABLE, int(r), 0, e, t) for i, r, e, t in na]
    checks += [
        m.Check(C.CORE_CLOCK, S.PASS, R.WITHIN, 0, 0),  # masked: the board's own clock
        m.Check(C.ARENA, S.PASS, R.AT_MOST, 0, 0),  # masked: its arena
        m.Check(C.STACK, S.PASS, R.AT_MOST, 0, 0),  # masked: its stack
        m.Check(C.HEAP, S.NOT_APPLICABLE, R.AT_MOST, 0, 0),
        m.Check(C.MODEL_OUTPUT, model, R.EQUAL, 0, 0),
    ]
    return m.SelftestReport(tuple(checks)).encode()


def case_selftest() -> Case:
    k = Case("selftest")
    k.send(T.SELFTEST, 3)
    k.reply(T.REPORT, 3, selftest_report(m.CheckStatus.PASS))
    k.send(T.SELFTEST, 4, b"\x00")
    k.reply(T.ERROR, 4, k.error(E.BAD_PAYLOAD, T.SELFTEST))
    k.send(T.SELFTEST, 3)  # a retry: same seq, run again
    k.reply(T.REPORT, 3, selftest_report(m.CheckStatus.PASS))
    return k


def case_selftest_model_fails() -> Case:
    # The interpreter fails: the built-in input cannot be inferred, model_output fails; the rest still passes.
    k = Case("selftest_model_fails", invoke="fail")
    k.send(T.SELFTEST, 1)
    k.reply(T.REPORT, 1, selftest_report(m.CheckStatus.FAIL))
    return k


def case_bad_crc() -> Case:
    k = Case("bad_crc")
    frame = bytearray(encode_frame(T.INFER, 9, infer_image().encode()))
    frame[100] ^= 0x10
    k.send_bytes(bytes(frame))
    k.reply(T.ERROR, 9, k.error(E.BAD_CRC, T.INFER))
    k.send(T.INFER, 9, infer_image().encode())  # the resend
    k.reply(T.RESULT, 9, k.result(infer_image().pixels))
    return k


def case_cut_short() -> Case:
    k = Case("cut_short")
    frame = encode_frame(T.INFER, 4, infer_image().encode())
    k.send_bytes(frame[:5000])
    k.idle()  # longer than the device's inter-byte timeout: the partial request is abandoned
    k.reply(T.ERROR, 4, k.error(E.BAD_CRC, T.INFER))
    k.send(T.HELLO, 5)
    k.reply(T.INFO, 5, k.info())
    return k


def case_too_large() -> Case:
    # A device with the smallest allowed receive buffer (one 96x96x3 INFER): no SET_FRAME capability.
    k = Case("too_large", max_rx=str(8 + 96 * 96 * 3))
    k.send(T.HELLO, 0)
    k.reply(T.INFO, 0, k.info())
    k.send(T.INFER, 1, infer_image(96, 97, 3).encode())  # 8 + 96*97*3 bytes: skipped as they arrive
    k.reply(T.ERROR, 1, k.error(E.TOO_LARGE, T.INFER))
    k.send(T.HELLO, 2)
    k.reply(T.INFO, 2, k.info())
    return k


def cases() -> list[Case]:
    found = [fn() for name, fn in sorted(globals().items()) if name.startswith("case_") and callable(fn)]
    names = [c.name for c in found]
    assert len(set(names)) == len(names), names
    return found


def behaviour_text() -> str:
    head = (
        "# Device-behaviour vectors (docs/protocol.md section 7), generated by tests/vectors/make_vectors.py\n"
        "# from tests/vectors/device_cases.py; do not edit.\n"
    )
    return head + "".join(c.text() + "end\n" for c in cases())
