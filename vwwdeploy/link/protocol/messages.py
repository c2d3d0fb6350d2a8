"""Message bodies of protocol version 1 (docs/protocol.md section 3): types, codes, encode/decode.

Every `decode_*` raises `PayloadError` on a malformed payload (the device answers BAD_PAYLOAD; the
host treats it like a corrupt frame).

Longer than 400 lines on purpose: it is section 3 of the spec, one codec per message, in the spec's
order and mirroring firmware/core/messages.cc; split, a reader would chase one table across files.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

import numpy as np

from vwwdeploy.link.protocol.crc import crc32
from vwwdeploy.link.protocol.pipeline import RAW_HEIGHT, RAW_WIDTH

PROTOCOL_VERSION = 1


class PayloadError(ValueError):
    """A payload that does not parse as its message type.

    `code` is the ERROR a board answers it with: BAD_PAYLOAD for a malformed body, BAD_SHAPE for a
    well-formed image header naming an image the board cannot take (docs/protocol.md section 3).
    """

    def __init__(self, message: str, code: int = 10):
        super().__init__(message)
        self.code = code


class MsgType(enum.IntEnum):
    HELLO = 0x01
    INFER = 0x02
    CAPTURE = 0x03
    STREAM_START = 0x04
    STREAM_STOP = 0x05
    SET_FRAME = 0x06
    SET_PIPELINE = 0x07
    STAGE = 0x08
    INFER_STAGED = 0x09
    SELFTEST = 0x0A
    INFO = 0x81
    RESULT = 0x82
    FRAME = 0x83
    ACK = 0x84
    LOG = 0x85
    REPORT = 0x86
    ERROR = 0x8F


HOST_TYPES = frozenset(t for t in MsgType if t < 0x80)


class ErrorCode(enum.IntEnum):
    BAD_CRC = 1
    BAD_VERSION = 2
    UNKNOWN_TYPE = 3
    TOO_LARGE = 4
    BAD_SHAPE = 5
    NO_CAMERA = 6
    INFERENCE_FAILED = 7
    BUSY = 8
    CAMERA_FAILED = 9
    BAD_PAYLOAD = 10
    STAGE_MISMATCH = 11


class LogLevel(enum.IntEnum):
    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3


class PipelineMode(enum.IntEnum):
    DECIMATE = 0
    BOX_AVERAGE = 1


class Capability(enum.IntFlag):
    NONE = 0
    CAMERA = 1
    INSTRUCTION_COUNT = 2
    SET_FRAME = 4
    STAGED = 8  # STAGE / INFER_STAGED (docs/protocol.md, staged transfer)


class CaptureFlags(enum.IntFlag):
    NONE = 0
    RAW = 1  # also send the raw 324x244 frame
    NO_INFER = 2  # frames only, no RESULT


class ImageKind(enum.IntEnum):
    MODEL_INPUT = 0
    RAW = 1


KERNELS = {0: "unknown", 1: "reference", 2: "cmsis-nn", 3: "host-runtime", 4: "generated"}
_KERNEL_CODES = {v: k for k, v in KERNELS.items()}
_DTYPES = {1: "int8", 2: "uint8", 3: "float32"}
_DTYPE_CODES = {v: k for k, v in _DTYPES.items()}
_IMAGE_DTYPES = {1: np.int8, 2: np.uint8}


# ------------------------------------------------------------------ IMAGE

_IMAGE_HEAD = struct.Struct("<HHBBBB")


@dataclass
class Image:
    """An IMAGE body: pixels [height, width, channels] (int8 or uint8) and its kind."""

    pixels: np.ndarray
    kind: ImageKind = ImageKind.MODEL_INPUT

    def encode(self) -> bytes:
        px = np.asarray(self.pixels)
        if px.ndim == 2:
            px = px[:, :, None]
        if px.ndim != 3 or px.shape[2] not in (1, 3):
            raise ValueError(f"image must be HxW, HxWx1 or HxWx3, got shape {px.shape}")
        if px.dtype not in (np.int8, np.uint8):
            raise ValueError(f"image dtype must be int8 or uint8, got {px.dtype}")
        h, w, c = px.shape
        code = 1 if px.dtype == np.int8 else 2
        return _IMAGE_HEAD.pack(w, h, c, code, int(self.kind), 0) + np.ascontiguousarray(px).tobytes()

    @classmethod
    def decode(cls, payload: bytes) -> "Image":
        if len(payload) < _IMAGE_HEAD.size:
            raise PayloadError(f"IMAGE payload of {len(payload)} bytes is shorter than its 8-byte header")
        w, h, c, code, kind, _ = _IMAGE_HEAD.unpack_from(payload)
        # Length first: a payload that disagrees with its own header is malformed (BAD_PAYLOAD) whatever
        # it claims; only a self-consistent image can be of the wrong kind (BAD_SHAPE).
        if len(payload) != _IMAGE_HEAD.size + w * h * c:
            raise PayloadError(f"IMAGE {w}x{h}x{c} needs {8 + w * h * c} bytes, payload has {len(payload)}")
        if c not in (1, 3) or code not in _IMAGE_DTYPES or kind not in (0, 1):
            raise PayloadError(f"IMAGE header has channels={c} dtype={code} kind={kind}", code=ErrorCode.BAD_SHAPE)
        px = np.frombuffer(payload, dtype=_IMAGE_DTYPES[code], offset=_IMAGE_HEAD.size).reshape(h, w, c)
        return cls(px.copy(), ImageKind(kind))


# ------------------------------------------------------------------ INFO

_TENSOR = struct.Struct("<BBH4HfiI")
_INFO_HEAD = struct.Struct("<BBBBIIIII32s")


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple[int, ...]
    dtype: str  # "int8" | "uint8" | "float32"
    scale: float
    zero_point: int

    def encode(self) -> bytes:
        if not 1 <= len(self.shape) <= 4:
            raise ValueError(f"tensor rank must be 1..4, got {self.shape}")
        dims = list(self.shape) + [0] * (4 - len(self.shape))
        return _TENSOR.pack(_DTYPE_CODES[self.dtype], len(self.shape), 0, *dims, self.scale, self.zero_point, 0)

    @classmethod
    def decode(cls, data: bytes, offset: int = 0) -> "TensorInfo":
        code, rank, _, d0, d1, d2, d3, scale, zp, _ = _TENSOR.unpack_from(data, offset)
        if code not in _DTYPES or not 1 <= rank <= 4:
            raise PayloadError(f"TENSOR has dtype code {code} and rank {rank}")
        return cls(tuple((d0, d1, d2, d3)[:rank]), _DTYPES[code], scale, zp)


def _str(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 255:
        raise ValueError(f"string of {len(raw)} bytes is longer than 255: {text[:40]!r}...")
    return bytes([len(raw)]) + raw


def _read_str(data: bytes, pos: int) -> tuple[str, int]:
    if pos >= len(data):
        raise PayloadError("INFO ends before a string")
    n = data[pos]
    if pos + 1 + n > len(data):
        raise PayloadError("INFO string runs past the payload")
    try:
        return data[pos + 1 : pos + 1 + n].decode("utf-8"), pos + 1 + n
    except UnicodeDecodeError:
        raise PayloadError("INFO string is not UTF-8") from None


def version_str(packed: int) -> str:
    return f"{(packed >> 16) & 0xFF}.{(packed >> 8) & 0xFF}.{packed & 0xFF}"


def version_int(text: str) -> int:
    major, minor, patch = (int(p) for p in text.split("."))
    return (major << 16) | (minor << 8) | patch


@dataclass(frozen=True)
class DeviceInfo:
    """An INFO body, in host-friendly types (strings for versions, kernels and the sha256)."""

    protocol_version: int
    firmware_version: str  # "major.minor.patch"
    board: str
    firmware_name: str
    model_sha256: str  # 64 lowercase hex
    input: TensorInfo
    output: TensorInfo
    arena_size: int
    arena_used: int
    kernels: str  # 'unknown' | 'reference' | 'cmsis-nn' | 'host-runtime' | 'generated'
    clock_hz: int
    labels: tuple[str, ...]
    capabilities: Capability
    max_rx_payload: int
    pipeline_mode: PipelineMode = PipelineMode.DECIMATE

    def encode(self) -> bytes:
        head = _INFO_HEAD.pack(
            self.protocol_version,
            _KERNEL_CODES[self.kernels],
            int(self.capabilities),
            int(self.pipeline_mode),
            version_int(self.firmware_version),
            self.clock_hz,
            self.arena_size,
            self.arena_used,
            self.max_rx_payload,
            bytes.fromhex(self.model_sha256),
        )
        tail = _str(self.board) + _str(self.firmware_name) + bytes([len(self.labels)])
        tail += b"".join(_str(label) for label in self.labels)
        return head + self.input.encode() + self.output.encode() + tail

    @classmethod
    def decode(cls, payload: bytes) -> "DeviceInfo":
        if len(payload) < 104 + 3:
            raise PayloadError(f"INFO payload of {len(payload)} bytes is shorter than 107")
        proto, kernels, caps, mode, fw, clock, arena, used, max_rx, sha = _INFO_HEAD.unpack_from(payload)
        inp = TensorInfo.decode(payload, 56)
        out = TensorInfo.decode(payload, 80)
        board, pos = _read_str(payload, 104)
        name, pos = _read_str(payload, pos)
        if pos >= len(payload):
            raise PayloadError("INFO ends before the label count")
        count, pos = payload[pos], pos + 1
        labels = []
        for _ in range(count):
            label, pos = _read_str(payload, pos)
            labels.append(label)
        if pos != len(payload):
            raise PayloadError(f"INFO has {len(payload) - pos} trailing bytes")
        return cls(
            protocol_version=proto,
            firmware_version=version_str(fw),
            board=board,
            firmware_name=name,
            model_sha256=sha.hex(),
            input=inp,
            output=out,
            arena_size=arena,
            arena_used=used,
            kernels=KERNELS.get(kernels, "unknown"),
            clock_hz=clock,
            labels=tuple(labels),
            capabilities=Capability(caps & 0xF),
            max_rx_payload=max_rx,
            pipeline_mode=PipelineMode(mode) if mode in (0, 1) else PipelineMode.DECIMATE,
        )


Info = DeviceInfo


# ------------------------------------------------------------------ RESULT

_RESULT_HEAD = struct.Struct("<IQH")


@dataclass
class Result:
    scores: np.ndarray  # int8, raw output tensor values
    latency_us: int
    instructions: int = 0
    seq: int = 0

    def encode(self) -> bytes:
        scores = np.asarray(self.scores, dtype=np.int8).reshape(-1)
        return _RESULT_HEAD.pack(self.latency_us, self.instructions, scores.size) + scores.tobytes()

    @classmethod
    def decode(cls, payload: bytes, seq: int = 0) -> "Result":
        if len(payload) < _RESULT_HEAD.size:
            raise PayloadError(f"RESULT payload of {len(payload)} bytes is shorter than 14")
        latency, instr, n = _RESULT_HEAD.unpack_from(payload)
        if len(payload) != _RESULT_HEAD.size + n:
            raise PayloadError(f"RESULT announces {n} scores, payload has {len(payload) - 14}")
        scores = np.frombuffer(payload, dtype=np.int8, offset=_RESULT_HEAD.size).copy()
        return cls(scores, latency, instr, seq)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return np.array_equal(self.scores, other.scores) and (self.latency_us, self.instructions, self.seq) == (
            other.latency_us,
            other.instructions,
            other.seq,
        )


# ------------------------------------------------------------------ staged transfer

STAGING_MIN_BYTES = 27_648  # a device's staging buffer holds at least one 96x96x3 input
STAGE_MAX_DATA = 1024  # data bytes one STAGE may carry
_U32 = struct.Struct("<I")


@dataclass(frozen=True)
class Stage:
    """A STAGE body: `data` (1..1024 bytes) for the device's staging buffer at `offset`."""

    offset: int
    data: bytes

    def encode(self) -> bytes:
        if not 1 <= len(self.data) <= STAGE_MAX_DATA:
            raise ValueError(f"a STAGE carries 1..{STAGE_MAX_DATA} data bytes, got {len(self.data)}")
        return _U32.pack(self.offset) + bytes(self.data)

    @classmethod
    def decode(cls, payload: bytes) -> "Stage":
        if not _U32.size + 1 <= len(payload) <= _U32.size + STAGE_MAX_DATA:
            raise PayloadError(f"STAGE payload must be 5..{4 + STAGE_MAX_DATA} bytes, got {len(payload)}")
        return cls(_U32.unpack_from(payload)[0], bytes(payload[_U32.size :]))


_STAGED = struct.Struct("<HHBBBBI")


@dataclass(frozen=True)
class InferStaged:
    """An INFER_STAGED body: the IMAGE header INFER would carry, and the CRC-32 of the staged pixels."""

    width: int
    height: int
    channels: int
    dtype: int  # 1 int8, 2 uint8 (as IMAGE)
    kind: int  # ImageKind
    pixel_crc32: int

    @classmethod
    def for_pixels(cls, pixels: np.ndarray, kind: ImageKind = ImageKind.MODEL_INPUT) -> "InferStaged":
        """The INFER_STAGED naming `pixels` ([H, W, C] int8/uint8), staged as `staging_bytes(pixels)`."""
        px = pixels[:, :, None] if pixels.ndim == 2 else pixels
        h, w, c = px.shape
        code = 1 if px.dtype == np.int8 else 2
        return cls(w, h, c, code, int(kind), crc32(np.ascontiguousarray(px).tobytes()))

    @property
    def pixel_bytes(self) -> int:
        return self.width * self.height * self.channels

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)

    def encode(self) -> bytes:
        return _STAGED.pack(self.width, self.height, self.channels, self.dtype, self.kind, 0, self.pixel_crc32)

    @classmethod
    def decode(cls, payload: bytes) -> "InferStaged":
        if len(payload) != _STAGED.size:
            raise PayloadError(f"INFER_STAGED payload must be {_STAGED.size} bytes, got {len(payload)}")
        w, h, c, code, kind, _, crc = _STAGED.unpack(payload)
        if c not in (1, 3) or code not in _IMAGE_DTYPES or kind not in (0, 1):
            raise PayloadError(
                f"INFER_STAGED image header has channels={c} dtype={code} kind={kind}", code=ErrorCode.BAD_SHAPE
            )
        return cls(w, h, c, code, kind, crc)


# ------------------------------------------------------------------ small bodies


@dataclass(frozen=True)
class StreamStart:
    flags: CaptureFlags = CaptureFlags.NONE
    max_fps: int = 0
    count: int = 0

    _S = struct.Struct("<BBHI")

    def encode(self) -> bytes:
        return self._S.pack(int(self.flags), 0, self.max_fps, self.count)

    @classmethod
    def decode(cls, payload: bytes) -> "StreamStart":
        if len(payload) != cls._S.size:
            raise PayloadError(f"STREAM_START payload must be 8 bytes, got {len(payload)}")
        flags, _, fps, count = cls._S.unpack(payload)
        if flags & ~3:
            raise PayloadError(f"STREAM_START flags 0x{flags:02x} set unknown bits")
        return cls(CaptureFlags(flags), fps, count)


def encode_capture(flags: CaptureFlags) -> bytes:
    return bytes([int(flags)])


def decode_capture(payload: bytes) -> CaptureFlags:
    if len(payload) != 1 or payload[0] & ~3:
        raise PayloadError("CAPTURE payload must be one byte of flags (bits 0..1)")
    return CaptureFlags(payload[0])


def encode_pipeline(mode: PipelineMode) -> bytes:
    return bytes([int(mode)])


def decode_pipeline(payload: bytes) -> PipelineMode:
    if len(payload) != 1 or payload[0] not in (0, 1):
        raise PayloadError("SET_PIPELINE payload must be one byte, 0 or 1")
    return PipelineMode(payload[0])


def encode_ack(acked_type: int) -> bytes:
    return bytes([acked_type & 0xFF])


def decode_ack(payload: bytes) -> int:
    if len(payload) != 1:
        raise PayloadError(f"ACK payload must be 1 byte, got {len(payload)}")
    return payload[0]


@dataclass(frozen=True)
class Log:
    level: LogLevel
    text: str

    def encode(self) -> bytes:
        return bytes([int(self.level)]) + self.text.replace("\0", "").encode("utf-8")

    @classmethod
    def decode(cls, payload: bytes) -> "Log":
        if not payload:
            raise PayloadError("LOG payload is empty")
        level = LogLevel(payload[0]) if payload[0] <= 3 else LogLevel.ERROR
        return cls(level, payload[1:].decode("utf-8", errors="replace"))


_ERROR_HEAD = struct.Struct("<HB")


@dataclass(frozen=True)
class ErrorMsg:
    code: int  # ErrorCode value (unknown codes kept as ints)
    request_type: int
    text: str = ""

    def encode(self) -> bytes:
        return _ERROR_HEAD.pack(int(self.code), self.request_type) + self.text.encode("utf-8")

    @classmethod
    def decode(cls, payload: bytes) -> "ErrorMsg":
        if len(payload) < _ERROR_HEAD.size:
            raise PayloadError(f"ERROR payload of {len(payload)} bytes is shorter than 3")
        code, req = _ERROR_HEAD.unpack_from(payload)
        return cls(code, req, payload[3:].decode("utf-8", errors="replace"))

    @property
    def code_name(self) -> str:
        try:
            return ErrorCode(self.code).name
        except ValueError:
            return f"code {self.code}"


# ------------------------------------------------------------------ self-test (SELFTEST / REPORT)

# s: a board answers SELFTEST within this. The Edge reads 13 to 24 camera frames for it (test pattern, timing, the
# exposure wait): 3-5 s at the vendor script's nominal 5 fps, never measured on a board, so the margin is wide.
SELFTEST_TIMEOUT = 30.0
SENSOR_MODEL_ID = 0x01B0  # HM01B0
RAW_FRAME_PIXELS = RAW_HEIGHT * RAW_WIDTH
REPORT_MAX_CHECKS = 32
STACK_HEADROOM = 256  # a stack high-water mark this close to the end counts as an overflow


class CheckId(enum.IntEnum):
    SENSOR_ID = 0x01
    PATTERN_PIXELS = 0x02
    DATA_D0 = 0x10
    DATA_D1 = 0x11
    DATA_D2 = 0x12
    DATA_D3 = 0x13
    DATA_D4 = 0x14
    DATA_D5 = 0x15
    DATA_D6 = 0x16
    DATA_D7 = 0x17
    FRAME_RATE = 0x20
    PIXELS_PER_LINE = 0x21
    LINES_PER_FRAME = 0x22
    EXPOSURE_CONVERGED = 0x30
    EXPOSURE_MEAN = 0x31
    CORE_CLOCK = 0x40
    ARENA = 0x50
    STACK = 0x51
    HEAP = 0x52
    MODEL_OUTPUT = 0x60


CAMERA_CHECKS = frozenset(c for c in CheckId if c <= CheckId.EXPOSURE_MEAN)


class CheckStatus(enum.IntEnum):
    PASS = 0
    FAIL = 1
    NOT_APPLICABLE = 2


class CheckRule(enum.IntEnum):
    EQUAL = 0
    AT_LEAST = 1
    AT_MOST = 2
    WITHIN = 3  # abs(measured - expected) <= tolerance


_CHECK = struct.Struct("<BBBBIII")


def check_name(check_id: int) -> str:
    try:
        return CheckId(check_id).name.lower()
    except ValueError:
        return f"check_0x{check_id:02x}"


@dataclass(frozen=True)
class Check:
    """One CHECK record of a REPORT. `id` and `rule` stay ints when a newer board sends unknown ones."""

    id: int
    status: CheckStatus
    rule: int
    measured: int
    expected: int
    tolerance: int = 0

    @property
    def name(self) -> str:
        return check_name(self.id)

    def rule_holds(self) -> bool:
        m_, e = self.measured, self.expected
        if self.rule == CheckRule.EQUAL:
            return m_ == e
        if self.rule == CheckRule.AT_LEAST:
            return m_ >= e
        if self.rule == CheckRule.AT_MOST:
            return m_ <= e
        if self.rule == CheckRule.WITHIN:
            return abs(m_ - e) <= self.tolerance
        return False

    @classmethod
    def judged(cls, check_id: int, rule: CheckRule, measured: int, expected: int, tolerance: int = 0) -> "Check":
        """A check whose status is its rule's verdict (pass or fail)."""
        c = cls(int(check_id), CheckStatus.PASS, int(rule), int(measured), int(expected), int(tolerance))
        return c if c.rule_holds() else cls(c.id, CheckStatus.FAIL, c.rule, c.measured, c.expected, c.tolerance)

    @classmethod
    def not_applicable(cls, check_id: int, rule: CheckRule, expected: int, tolerance: int = 0) -> "Check":
        return cls(int(check_id), CheckStatus.NOT_APPLICABLE, int(rule), 0, int(expected), int(tolerance))

    def encode(self) -> bytes:
        return _CHECK.pack(self.id, int(self.status), self.rule, 0, self.measured, self.expected, self.tolerance)


@dataclass(frozen=True)
class SelftestReport:
    """A REPORT body: the checks in ascending id order."""

    checks: tuple[Check, ...]

    def encode(self) -> bytes:
        if not 1 <= len(self.checks) <= REPORT_MAX_CHECKS:
            raise ValueError(f"a REPORT holds 1..{REPORT_MAX_CHECKS} checks, got {len(self.checks)}")
        ids = [c.id for c in self.checks]
        if ids != sorted(set(ids)):
            raise ValueError(f"REPORT check ids must ascend without repeats, got {ids}")
        return bytes([len(self.checks)]) + b"".join(c.encode() for c in self.checks)

    @classmethod
    def decode(cls, payload: bytes) -> "SelftestReport":
        if not payload:
            raise PayloadError("REPORT payload is empty")
        n = payload[0]
        if not 1 <= n <= REPORT_MAX_CHECKS or len(payload) != 1 + n * _CHECK.size:
            raise PayloadError(f"REPORT announces {n} checks in {len(payload)} bytes (1 + 16 each, 1..32 checks)")
        checks = []
        for i in range(n):
            cid, status, rule, _, measured, expected, tol = _CHECK.unpack_from(payload, 1 + i * _CHECK.size)
            if status > CheckStatus.NOT_APPLICABLE:
                raise PayloadError(f"REPORT check 0x{cid:02x} has status {status}")
            checks.append(Check(cid, CheckStatus(status), rule, measured, expected, tol))
        ids = [c.id for c in checks]
        if ids != sorted(set(ids)):
            raise PayloadError(f"REPORT check ids do not ascend: {ids}")
        return cls(tuple(checks))

    def get(self, check_id: int) -> Check | None:
        return next((c for c in self.checks if c.id == check_id), None)

    @property
    def passed(self) -> bool:
        return all(c.status != CheckStatus.FAIL for c in self.checks)


def decode_selftest(payload: bytes) -> None:
    if payload:
        raise PayloadError(f"SELFTEST takes no payload, got {len(payload)} bytes")


def selftest_input(count: int) -> np.ndarray:
    """The built-in self-test model input, flattened (docs/protocol.md, "Self-test", model_output)."""
    i = np.arange(count, dtype=np.uint64)
    top = ((i * 2654435761) & 0xFFFFFFFF) >> 24  # Knuth's multiplicative hash: every byte value appears
    return (top.astype(np.int16) - 128).astype(np.int8)
