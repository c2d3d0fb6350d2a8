#!/usr/bin/env python3
"""Generate the golden vectors of docs/protocol.md section 6 from the Python reference.

    python3 tests/vectors/make_vectors.py [OUT_DIR]      (default: this folder)

Deterministic: a test regenerates into a temporary folder and fails when any committed file differs.
Besides computing the expected outputs with the reference decoder, the generator asserts what each
stream was built to contain (which frames survive, how many are rejected), so a decoder bug cannot
silently become the golden answer.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import device_cases  # noqa: E402  (tests/vectors/device_cases.py: the device-behaviour cases)

from vwwdeploy.link.protocol import messages as m  # noqa: E402
from vwwdeploy.link.protocol import pipeline  # noqa: E402
from vwwdeploy.link.protocol.crc import crc32  # noqa: E402
from vwwdeploy.link.protocol.framing import MAX_PAYLOAD, FrameDecoder, encode_frame  # noqa: E402

T = m.MsgType


def _ramp(n: int, mul: int = 7, add: int = 3) -> bytes:
    return bytes((i * mul + add + (i >> 8)) & 0xFF for i in range(n))


def _infer_image(h: int, w: int, c: int) -> m.Image:
    px = np.frombuffer(_ramp(h * w * c, 13, 5), dtype=np.int8).reshape(h, w, c)
    return m.Image(px, m.ImageKind.MODEL_INPUT)


def _uint8_image(h: int, w: int, kind: m.ImageKind, mul: int) -> m.Image:
    px = np.frombuffer(_ramp(h * w, mul, 1), dtype=np.uint8).reshape(h, w, 1)
    return m.Image(px, kind)


UPSTREAM_IN = m.TensorInfo((1, 96, 96, 1), "int8", 0.0078431377, -1)
UPSTREAM_OUT = m.TensorInfo((1, 2), "int8", 0.00390625, -128)

INFO_SIM = m.DeviceInfo(
    protocol_version=1,
    firmware_version="0.1.0",
    board="sim",
    firmware_name="vwwdeploy-sim",
    model_sha256="4f1a1b3cdeadbeef00112233445566778899aabbccddeeff0123456789abcdef",
    input=UPSTREAM_IN,
    output=UPSTREAM_OUT,
    arena_size=4194304,
    arena_used=81584,
    kernels="host-runtime",
    clock_hz=0,
    labels=("notperson", "person"),
    capabilities=m.Capability.CAMERA | m.Capability.SET_FRAME | m.Capability.STAGED,
    max_rx_payload=81920,
    pipeline_mode=m.PipelineMode.DECIMATE,
)
INFO_EDGE = m.DeviceInfo(
    protocol_version=1,
    firmware_version="1.2.3",
    board="sparkfun_edge",
    firmware_name="vwwdeploy-fw",
    model_sha256="00" * 31 + "ff",
    input=UPSTREAM_IN,
    output=m.TensorInfo((1, 2), "int8", 0.00390625, -128),
    arena_size=136 * 1024,
    arena_used=84080,
    kernels="cmsis-nn",
    clock_hz=48_000_000,
    labels=("unlabeled", "person", "nötperson"),
    capabilities=m.Capability.CAMERA | m.Capability.SET_FRAME,
    max_rx_payload=80000,
    pipeline_mode=m.PipelineMode.BOX_AVERAGE,
)
INFO_QEMU = m.DeviceInfo(
    protocol_version=1,
    firmware_version="0.1.0",
    board="qemu_an386",
    firmware_name="vwwdeploy-fw",
    model_sha256="ab" * 32,
    input=m.TensorInfo((1, 96, 96, 3), "int8", 0.0078431377, -1),
    output=m.TensorInfo((1, 1), "uint8", 0.5, 0),
    arena_size=0,
    arena_used=0,
    kernels="reference",
    clock_hz=25_000_000,
    labels=(),
    capabilities=m.Capability.INSTRUCTION_COUNT,
    max_rx_payload=27656,
)


C, R = m.CheckId, m.CheckRule
# A SparkFun Edge whose D5 is stuck low and whose stack came close to its end: every status and rule.
REPORT_EDGE = m.SelftestReport(
    (
        m.Check.judged(C.SENSOR_ID, R.EQUAL, 0x01B0, m.SENSOR_MODEL_ID),
        m.Check.judged(C.PATTERN_PIXELS, R.AT_LEAST, 2 * m.RAW_FRAME_PIXELS, m.RAW_FRAME_PIXELS),
        *(m.Check.judged(C.DATA_D0 + k, R.EQUAL, 78_912 if k == 5 else 0, 0) for k in range(8)),
        m.Check.judged(C.FRAME_RATE, R.AT_LEAST, 5_012, 1000),
        m.Check.judged(C.PIXELS_PER_LINE, R.EQUAL, 324, 324),
        m.Check.judged(C.LINES_PER_FRAME, R.EQUAL, 244, 244),
        m.Check.judged(C.EXPOSURE_CONVERGED, R.EQUAL, 1, 1),
        m.Check.judged(C.EXPOSURE_MEAN, R.WITHIN, 117, 128, 96),
        m.Check.judged(C.CORE_CLOCK, R.WITHIN, 47_998_720, 48_000_000, 960_000),
        m.Check.judged(C.ARENA, R.AT_MOST, 84_080, 139_264),
        m.Check.judged(C.STACK, R.AT_MOST, 16_200, 16_384 - m.STACK_HEADROOM),
        m.Check.not_applicable(C.HEAP, R.AT_MOST, 0),
        m.Check.judged(C.MODEL_OUTPUT, R.EQUAL, 0, 0),
    )
)
# QEMU: no camera, the clock counted against its timer, a paint-measured stack.
REPORT_QEMU = m.SelftestReport(
    (
        m.Check.not_applicable(C.SENSOR_ID, R.EQUAL, m.SENSOR_MODEL_ID),
        m.Check.not_applicable(C.PATTERN_PIXELS, R.AT_LEAST, m.RAW_FRAME_PIXELS),
        *(m.Check.not_applicable(C.DATA_D0 + k, R.EQUAL, 0) for k in range(8)),
        m.Check.not_applicable(C.FRAME_RATE, R.AT_LEAST, 1000),
        m.Check.not_applicable(C.PIXELS_PER_LINE, R.EQUAL, 324),
        m.Check.not_applicable(C.LINES_PER_FRAME, R.EQUAL, 244),
        m.Check.not_applicable(C.EXPOSURE_CONVERGED, R.EQUAL, 1),
        m.Check.not_applicable(C.EXPOSURE_MEAN, R.WITHIN, 128, 96),
        m.Check.judged(C.CORE_CLOCK, R.WITHIN, 25_000_000, 25_000_000, 500_000),
        m.Check.judged(C.ARENA, R.AT_MOST, 81_584, 90_112),
        m.Check.judged(C.STACK, R.AT_MOST, 2_344, 65_536 - m.STACK_HEADROOM),
        m.Check.not_applicable(C.HEAP, R.AT_MOST, 0),
        m.Check.judged(C.MODEL_OUTPUT, R.EQUAL, 2, 0),
    )
)


def _fields(obj) -> str:
    """key=value tokens for messages.txt (no spaces inside values)."""
    if isinstance(obj, m.DeviceInfo):

        def tensor(t):
            return f"{t.dtype}:{','.join(map(str, t.shape))}:{np.float32(t.scale).view(np.uint32):08x}:{t.zero_point}"

        return " ".join(
            [
                f"protocol_version={obj.protocol_version}",
                f"kernels={m._KERNEL_CODES[obj.kernels]}",
                f"capabilities={int(obj.capabilities)}",
                f"pipeline_mode={int(obj.pipeline_mode)}",
                f"firmware_version={m.version_int(obj.firmware_version)}",
                f"clock_hz={obj.clock_hz}",
                f"arena_size={obj.arena_size}",
                f"arena_used={obj.arena_used}",
                f"max_rx_payload={obj.max_rx_payload}",
                f"model_sha256={obj.model_sha256}",
                f"input={tensor(obj.input)}",
                f"output={tensor(obj.output)}",
                f"board_hex={obj.board.encode().hex() or '-'}",
                f"firmware_name_hex={obj.firmware_name.encode().hex() or '-'}",
                f"labels_hex={','.join(label.encode().hex() for label in obj.labels) or '-'}",
            ]
        )
    if isinstance(obj, m.Result):
        scores = ",".join(str(int(s)) for s in obj.scores) or "-"
        return f"latency_us={obj.latency_us} instructions={obj.instructions} scores={scores}"
    if isinstance(obj, m.Image):
        h, w, c = obj.pixels.shape
        dtype = 1 if obj.pixels.dtype == np.int8 else 2
        return f"width={w} height={h} channels={c} dtype={dtype} kind={int(obj.kind)} pixels=see_payload"
    if isinstance(obj, m.StreamStart):
        return f"flags={int(obj.flags)} max_fps={obj.max_fps} count={obj.count}"
    if isinstance(obj, m.Stage):
        return f"offset={obj.offset} length={len(obj.data)} data=see_payload"
    if isinstance(obj, m.InferStaged):
        return (
            f"width={obj.width} height={obj.height} channels={obj.channels} dtype={obj.dtype} kind={obj.kind} "
            f"pixel_crc32={obj.pixel_crc32:08x}"
        )
    if isinstance(obj, m.Log):
        return f"level={int(obj.level)} text_hex={obj.text.encode().hex() or '-'}"
    if isinstance(obj, m.SelftestReport):
        return "checks=" + ",".join(
            f"{c.id}:{int(c.status)}:{c.rule}:{c.measured}:{c.expected}:{c.tolerance}" for c in obj.checks
        )
    if isinstance(obj, m.ErrorMsg):
        return f"code={obj.code} request_type={obj.request_type} text_hex={obj.text.encode().hex() or '-'}"
    return ""


def frame_vectors() -> list[tuple[str, int, int, bytes, str]]:
    """(name, type, seq, payload, fields) for every message type, empty and maximal payloads."""
    v: list[tuple[str, int, int, bytes, str]] = []

    def add(name, type_, seq, body=b"", fields=""):
        payload = body.encode() if hasattr(body, "encode") and not isinstance(body, (bytes, str)) else body
        v.append((name, int(type_), seq, bytes(payload), fields or _fields(body)))

    add("hello", T.HELLO, 0)
    add("hello_seq_max", T.HELLO, 0xFFFF)
    add("infer_96x96x1", T.INFER, 1, _infer_image(96, 96, 1))
    add("infer_96x96x3", T.INFER, 2, _infer_image(96, 96, 3))  # 27,656 bytes: DEVICE_MAX_RX_PAYLOAD minimum
    for flags in (0, 1, 2, 3):
        add(f"capture_flags{flags}", T.CAPTURE, 3 + flags, m.encode_capture(m.CaptureFlags(flags)), f"flags={flags}")
    add("stream_start_default", T.STREAM_START, 7, m.StreamStart())
    add("stream_start_raw_fps15_count100", T.STREAM_START, 8, m.StreamStart(m.CaptureFlags.RAW, 15, 100))
    add("stream_start_noinfer_count70000", T.STREAM_START, 9, m.StreamStart(m.CaptureFlags.NO_INFER, 0, 70000))
    add("stream_stop", T.STREAM_STOP, 10)
    add("set_frame", T.SET_FRAME, 11, _uint8_image(244, 324, m.ImageKind.RAW, 3))
    add("set_pipeline_decimate", T.SET_PIPELINE, 12, m.encode_pipeline(m.PipelineMode.DECIMATE), "mode=0")
    add("set_pipeline_boxavg", T.SET_PIPELINE, 13, m.encode_pipeline(m.PipelineMode.BOX_AVERAGE), "mode=1")
    # Staged transfer: chunks of the infer_96x96x1 pixels (first, middle, last of the 96x96x1 image), a
    # one-byte and a maximal 1,024-byte chunk ending at the 27,648-byte minimum staging size, and the
    # INFER_STAGED requests naming the pixels of infer_96x96x1 / infer_96x96x3 by their CRC-32.
    gray = _infer_image(96, 96, 1).pixels.tobytes()
    add("stage_first", T.STAGE, 15, m.Stage(0, gray[:256]))
    add("stage_middle", T.STAGE, 16, m.Stage(4608, gray[4608:4864]))
    add("stage_last", T.STAGE, 17, m.Stage(8960, gray[8960:]))
    add("stage_one_byte", T.STAGE, 18, m.Stage(27_647, b"\x80"))
    add("stage_max", T.STAGE, 19, m.Stage(m.STAGING_MIN_BYTES - m.STAGE_MAX_DATA, _ramp(m.STAGE_MAX_DATA, 5, 1)))
    add("infer_staged_96x96x1", T.INFER_STAGED, 20, m.InferStaged.for_pixels(_infer_image(96, 96, 1).pixels))
    add("infer_staged_96x96x3", T.INFER_STAGED, 21, m.InferStaged.for_pixels(_infer_image(96, 96, 3).pixels))
    add("selftest", T.SELFTEST, 22)
    add("unknown_host_type", 0x3F, 14)
    add("info_sim", T.INFO, 0, INFO_SIM)
    add("info_edge", T.INFO, 1, INFO_EDGE)
    add("info_qemu", T.INFO, 2, INFO_QEMU)
    add("result_2scores", T.RESULT, 1, m.Result(np.array([-113, 113], np.int8), 104_512, 0))
    add("result_instructions", T.RESULT, 2, m.Result(np.array([127, -128], np.int8), 4_000_000_000, 0x1_2345_6789))
    add("result_1score", T.RESULT, 3, m.Result(np.array([-5], np.int8), 1, 2))
    add("result_0scores", T.RESULT, 4, m.Result(np.zeros(0, np.int8), 0, 0))
    add("frame_model_input", T.FRAME, 5, _uint8_image(96, 96, m.ImageKind.MODEL_INPUT, 11))
    add("frame_raw", T.FRAME, 5, _uint8_image(244, 324, m.ImageKind.RAW, 5))
    for acked in (T.STREAM_START, T.STREAM_STOP, T.SET_FRAME, T.SET_PIPELINE, T.STAGE):
        add(f"ack_{acked.name.lower()}", T.ACK, 20 + int(acked), m.encode_ack(acked), f"acked_type={int(acked)}")
    add("report_edge", T.REPORT, 22, REPORT_EDGE)
    add("report_qemu", T.REPORT, 23, REPORT_QEMU)
    add("report_unknown_check", T.REPORT, 24, m.SelftestReport((m.Check(0x7F, m.CheckStatus.PASS, 9, 1, 2, 3),)))
    add("log_info", T.LOG, 6, m.Log(m.LogLevel.INFO, "booted vwwdeploy 0.1.0"))
    add("log_utf8", T.LOG, 7, m.Log(m.LogLevel.WARNING, "Grüße, 温度 ok"))
    add("log_empty_text", T.LOG, 8, m.Log(m.LogLevel.DEBUG, ""))
    for code in m.ErrorCode:
        text = "" if code == m.ErrorCode.BUSY else f"{code.name.lower()} detail"
        req = T.INFER_STAGED if code == m.ErrorCode.STAGE_MISMATCH else T.INFER
        add(f"error_{code.name.lower()}", T.ERROR, 30 + int(code), m.ErrorMsg(int(code), int(req), text))
    add("error_unknown_request", T.ERROR, 65535, m.ErrorMsg(3, 0, "type 0x3f"))
    add(
        "max_payload",
        T.LOG,
        42,
        bytes([1]) + bytes(0x61 + i % 26 for i in range(MAX_PAYLOAD - 1)),
        "level=1 text=a..z_repeated",
    )
    return v


# ------------------------------------------------------------------ streams


# The types of protocol v1's first edition: later types must not reshuffle the random streams.
_STREAM_TYPES = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x81, 0x82, 0x83, 0x84, 0x85, 0x8F]


def _frame(rng: random.Random, seq: int, size: int | None = None) -> bytes:
    size = rng.randrange(0, 300) if size is None else size
    type_ = rng.choice(_STREAM_TYPES)
    return encode_frame(type_, seq, rng.randbytes(size))


def _flip(data: bytes, index: int, bit: int = 0) -> bytes:
    b = bytearray(data)
    b[index] ^= 1 << bit
    return bytes(b)


def _header_with_crc(version: int, type_: int, seq: int, length: int) -> bytes:
    import struct

    from vwwdeploy.link.protocol.crc import crc16_ccitt_false

    head = struct.pack("<2sBBHI", b"VW", version, type_, seq, length)
    return head + struct.pack("<H", crc16_ccitt_false(head))


def stream_vectors() -> dict[str, tuple[bytes, list[bytes], int]]:
    """name -> (stream bytes, frames it was built to deliver, frames it was built to reject)."""
    rng = random.Random(20261125)
    s: dict[str, tuple[bytes, list[bytes], int]] = {}
    a, b, c = _frame(rng, 1, 5), _frame(rng, 2, 0), _frame(rng, 3, 120)
    s["clean"] = (a + b + c, [a, b, c], 0)

    s["garbage"] = (
        rng.randbytes(37).replace(b"VW", b"vw") + a + bytes(5) + b + b"\xff" * 3 + c + b"trailing",
        [a, b, c],
        0,
    )

    payload_with_sync = encode_frame(int(T.LOG), 4, b"\x01VW" + _header_with_crc(1, 2, 3, 4)[2:] + b"VWVW")
    false = b"VW" + b"VVW" + b"VWVW" + b"VW" + bytes(10) + b"V" + a + b"V" + payload_with_sync + b"VW" + c + b"V"
    s["false_sync"] = (false, [a, payload_with_sync, c], 0)

    hdr_flip = _flip(a, 4, 3)  # seq bit: header CRC fails
    crc_flip = _flip(b, 10, 0)  # the header CRC itself
    version2 = _header_with_crc(2, 1, 9, 0) + bytes(4)
    too_long = _header_with_crc(1, 1, 9, MAX_PAYLOAD + 1)
    s["bad_header_crc"] = (hdr_flip + b + crc_flip + c + version2 + a + too_long + b, [b, c, a, b], 0)

    pay_flip = _flip(c, 40, 5)
    tail_flip = _flip(a, len(a) - 1, 7)
    s["bad_frame_crc"] = (pay_flip + a + tail_flip + b + pay_flip + c, [a, b, c], 3)

    long_frame = _frame(rng, 7, 200)
    mid = _frame(rng, 8, 3)
    # Cut inside the payload: its length swallows the next frames, the CRC fails, rescanning finds them.
    # Cut inside the header: the header CRC fails at once. A cut at the end is dropped by the timeout.
    trunc = long_frame[:50] + a + mid + b + c[:7] + a + mid + long_frame[:100]
    s["truncated"] = (trunc, [a, mid, b, a, mid], 1)

    inner = _frame(rng, 11, 30)
    outer = _flip(encode_frame(int(T.FRAME), 12, b"\x00" * 9 + inner + b"\x00" * 9), 13, 0)
    s["nested"] = (outer + c, [inner, c], 1)

    # Many frames, a third of them damaged by one byte drop, flip or insert, with noise in between.
    mix, delivered = bytearray(), []
    for seq in range(60):
        frame = _frame(rng, seq)
        what = rng.choice(["ok", "ok", "drop", "flip", "insert"])
        if what == "ok":
            delivered.append(frame)
        else:
            i = rng.randrange(len(frame))
            if what == "drop":
                frame = frame[:i] + frame[i + 1 :]
            elif what == "flip":
                frame = _flip(frame, i, rng.randrange(8))
            else:
                frame = frame[:i] + bytes([rng.randrange(256)]) + frame[i:]
            # whether it is rejected depends on where the damage fell; checked against the decoder only
        mix += frame
        if rng.random() < 0.3:
            mix += rng.randbytes(rng.randrange(1, 20))
    s["noise_mix"] = (bytes(mix), delivered, -1)

    big = encode_frame(int(T.FRAME), 99, _ramp(MAX_PAYLOAD, 3, 9))
    s["max_payload"] = (b"\x00VW\x01" + big + a, [big, a], 0)
    return s


def _expected_text(stream: bytes) -> tuple[str, list, int]:
    dec = FrameDecoder()
    frames = dec.feed(stream) + dec.timeout()
    lines = [f"{f.type} {f.seq} {len(f.payload)} {crc32(f.payload):08x}" for f in frames]
    lines.append(f"rejected {dec.rejected_frames}")
    return "\n".join(lines) + "\n", frames, dec.rejected_frames


# ------------------------------------------------------------------ pipeline


def pipeline_frames() -> dict[str, np.ndarray]:
    h, w = pipeline.RAW_SHAPE
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(7)
    # 2x2 blocks whose sums hit every remainder mod 4 (rounding of the box average).
    rounding = ((x % 4) + 3 * (y % 4) + 250 * ((x // 2 + y // 2) % 2)).clip(0, 255)
    return {
        "test_pattern": pipeline.test_pattern(),
        "gradient": ((x * 255) // (w - 1)).astype(np.uint8) ^ ((y * 255) // (h - 1)).astype(np.uint8),
        "noise": rng.integers(0, 256, size=(h, w), dtype=np.uint8),
        "extremes": np.where((x + y) % 2 == 0, 255, 0).astype(np.uint8),
        "rounding": rounding.astype(np.uint8),
    }


# (name, raw frame, height, width, channels, mode, scale, zero point): other model input shapes (section 5).
_S2, _S1 = float(np.float32(2 / 255)), float(np.float32(1 / 255))
PIPELINE_SHAPES = [
    ("s128x128x1_dec", "noise", 128, 128, 1, 0, _S2, -1),
    ("s128x128x1_box", "rounding", 128, 128, 1, 1, _S2, -1),
    ("s80x80x3_box", "noise", 80, 80, 3, 1, _S2, -1),
    ("s80x80x3_dec", "gradient", 80, 80, 3, 0, _S1, -128),
    ("s64x64x1_box", "gradient", 64, 64, 1, 1, _S2, -1),
    ("s160x160x3_box", "noise", 160, 160, 3, 1, _S2, -1),
    ("s160x160x3_dec", "test_pattern", 160, 160, 3, 0, _S2, -1),
    ("s96x128x1_box", "noise", 96, 128, 1, 1, _S2, -1),
    ("s120x72x3_dec", "rounding", 120, 72, 3, 0, _S2, -1),
    ("s32x32x1_box", "extremes", 32, 32, 1, 1, _S2, -1),
    ("s96x96x1_box", "noise", 96, 96, 1, 1, _S2, -1),
    ("s96x96x3_dec", "test_pattern", 96, 96, 3, 0, _S2, -1),
    ("s96x96x1_offscale", "gradient", 96, 96, 1, 1, float(np.float32(0.0079431)), -1),
    ("s112x144x1_clamp", "noise", 112, 144, 1, 1, float(np.float32(0.02)), 5),
]


def pipeline_shape_lines(frames: dict[str, np.ndarray]) -> tuple[list[str], dict[str, bytes]]:
    lines, outputs = [], {}
    for name, raw_name, h, w, c, mode, scale, zp in PIPELINE_SHAPES:
        x = pipeline.camera_input(frames[raw_name], h, w, c, scale, zp, mode)
        assert x.shape == (h, w, c) and x.dtype == np.int8
        scale_hex = np.float32(scale).view(np.uint32).item()
        lines.append(f"{name} {raw_name} {h} {w} {c} {mode} {scale_hex:08x} {zp}")
        outputs[name] = x.tobytes()
    # The 96x96 cases at scale 2/255 must be today's bytes (the path before any other shape existed).
    for name, raw_name, h, w, c, mode, scale, zp in PIPELINE_SHAPES:
        if (h, w, scale, zp) == (96, 96, _S2, -1):
            old = pipeline.to_model_input(pipeline.apply_pipeline(frames[raw_name], mode))
            if outputs[name] != np.repeat(old[:, :, None], c, axis=2).tobytes():
                raise SystemExit(f"pipeline shape {name}: 96x96 differs from the fixed path")
    return lines, outputs


# ------------------------------------------------------------------ writer


def generate(out: Path) -> list[Path]:
    written: list[Path] = []

    def put(rel: str, data: bytes | str) -> None:
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        written.append(path)

    frames_lines, message_lines = [], []
    for name, type_, seq, payload, fields in frame_vectors():
        frame = encode_frame(type_, seq, payload)
        frames_lines.append(f"{name} {type_} {seq} {payload.hex() or '-'} {frame.hex()}")
        message_lines.append(f"{name} {type_} {fields}".rstrip())
    put("protocol/frames.txt", "\n".join(frames_lines) + "\n")
    put("protocol/messages.txt", "\n".join(message_lines) + "\n")

    for name, (stream, intended, intended_rejects) in stream_vectors().items():
        text, frames, rejected = _expected_text(stream)
        got = [encode_frame(f.type, f.seq, f.payload) for f in frames]
        if got != intended or (intended_rejects >= 0 and rejected != intended_rejects):
            raise SystemExit(
                f"stream {name}: decoder gives {len(got)} frames/{rejected} rejected, built for "
                f"{len(intended)}/{intended_rejects}"
            )
        put(f"protocol/streams/{name}.bin", stream)
        put(f"protocol/streams/{name}.expected.txt", text)

    for name, raw in pipeline_frames().items():
        put(f"pipeline/{name}.raw", raw.tobytes())
        put(f"pipeline/{name}.decimate", pipeline.to_model_input(pipeline.crop_decimate(raw)).tobytes())
        put(f"pipeline/{name}.boxavg", pipeline.to_model_input(pipeline.crop_box_average(raw)).tobytes())
    shape_lines, shape_outputs = pipeline_shape_lines(pipeline_frames())
    put("pipeline/shapes.txt", "\n".join(shape_lines) + "\n")
    for name, data in shape_outputs.items():
        put(f"pipeline/shapes/{name}.int8", data)
    put("device/behaviour.txt", device_cases.behaviour_text())
    return written


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else HERE
    files = generate(out)
    print(f"wrote {len(files)} files under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
