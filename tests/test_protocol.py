"""The Python protocol reference against the committed golden vectors (docs/protocol.md section 6)."""

from __future__ import annotations

import importlib.util
import struct

import numpy as np
import pytest
from conftest import VECTORS

from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol import pipeline
from vwwdeploy.link.protocol.crc import crc16_ccitt_false, crc32
from vwwdeploy.link.protocol.framing import MAX_PAYLOAD, FrameDecoder, decode_frames, encode_frame

PROTO = VECTORS / "protocol"


def _frames_txt():
    for line in (PROTO / "frames.txt").read_text().splitlines():
        name, type_, seq, payload_hex, frame_hex = line.split(" ")
        yield (
            name,
            int(type_),
            int(seq),
            bytes.fromhex("" if payload_hex == "-" else payload_hex),
            bytes.fromhex(frame_hex),
        )


FRAMES = list(_frames_txt())


def test_crc_check_values():
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc32(b"123456789") == 0xCBF43926
    assert crc16_ccitt_false(b"") == 0xFFFF and crc32(b"") == 0


def test_vectors_regenerate_identically(tmp_path):
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.generate(tmp_path)
    fresh = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    committed = {
        p.relative_to(VECTORS)
        for p in VECTORS.rglob("*")
        if p.is_file() and p.suffix != ".py" and p.name != "README.md" and "__pycache__" not in p.parts
    }
    assert fresh == committed
    for rel in sorted(fresh):
        assert (tmp_path / rel).read_bytes() == (VECTORS / rel).read_bytes(), f"{rel} differs from the generator"


def test_frames_cover_every_message_type_and_the_limits():
    types = {t for _, t, _, _, _ in FRAMES}
    assert {int(t) for t in m.MsgType} <= types
    sizes = [len(p) for _, _, _, p, _ in FRAMES]
    assert 0 in sizes and MAX_PAYLOAD in sizes
    assert {int(c) for c in m.ErrorCode} <= {
        struct.unpack_from("<H", p)[0] for _, t, _, p, _ in FRAMES if t == m.MsgType.ERROR
    }


@pytest.mark.parametrize("name,type_,seq,payload,frame", FRAMES, ids=[f[0] for f in FRAMES])
def test_encode_and_decode_match_vector(name, type_, seq, payload, frame):
    assert encode_frame(type_, seq, payload) == frame
    dec = FrameDecoder()
    (got,) = dec.feed(frame)
    assert (got.type, got.seq, got.payload) == (type_, seq, payload)
    assert dec.garbage_bytes == 0 and dec.pending == 0


def _round_trip(type_: int, payload: bytes) -> None:
    """Each message body decodes and re-encodes to the same bytes."""
    T = m.MsgType
    if type_ in (T.INFER, T.FRAME, T.SET_FRAME):
        assert m.Image.decode(payload).encode() == payload
    elif type_ == T.INFO:
        assert m.DeviceInfo.decode(payload).encode() == payload
    elif type_ == T.RESULT:
        assert m.Result.decode(payload).encode() == payload
    elif type_ == T.STREAM_START:
        assert m.StreamStart.decode(payload).encode() == payload
    elif type_ == T.CAPTURE:
        assert m.encode_capture(m.decode_capture(payload)) == payload
    elif type_ == T.SET_PIPELINE:
        assert m.encode_pipeline(m.decode_pipeline(payload)) == payload
    elif type_ == T.ACK:
        assert m.encode_ack(m.decode_ack(payload)) == payload
    elif type_ == T.STAGE:
        assert m.Stage.decode(payload).encode() == payload
    elif type_ == T.INFER_STAGED:
        assert m.InferStaged.decode(payload).encode() == payload
    elif type_ == T.LOG:
        assert m.Log.decode(payload).encode() == payload
    elif type_ == T.ERROR:
        assert m.ErrorMsg.decode(payload).encode() == payload
    elif type_ == T.REPORT:
        assert m.SelftestReport.decode(payload).encode() == payload
    else:
        assert payload == b""


@pytest.mark.parametrize("name,type_,seq,payload,frame", FRAMES, ids=[f[0] for f in FRAMES])
def test_message_bodies_round_trip(name, type_, seq, payload, frame):
    _round_trip(type_, payload)


def test_info_fields_decode_as_written():
    by_name = {f[0]: f for f in FRAMES}
    info = m.DeviceInfo.decode(by_name["info_edge"][3])
    assert info.board == "sparkfun_edge" and info.kernels == "cmsis-nn" and info.firmware_version == "1.2.3"
    assert info.labels == ("unlabeled", "person", "nötperson")
    assert info.input.shape == (1, 96, 96, 1) and info.input.zero_point == -1
    assert info.capabilities & m.Capability.CAMERA and info.max_rx_payload == 80000
    assert info.pipeline_mode == m.PipelineMode.BOX_AVERAGE
    result = m.Result.decode(by_name["result_instructions"][3])
    assert result.instructions == 0x1_2345_6789 and list(result.scores) == [127, -128]


STREAMS = sorted(p.name[: -len(".bin")] for p in (PROTO / "streams").glob("*.bin"))


@pytest.mark.parametrize("name", STREAMS)
@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_stream_vectors(name, chunk):
    data = (PROTO / "streams" / f"{name}.bin").read_bytes()
    lines = (PROTO / "streams" / f"{name}.expected.txt").read_text().splitlines()
    dec = FrameDecoder()
    frames = []
    for i in range(0, len(data), chunk):
        frames += dec.feed(data[i : i + chunk])
    frames += dec.timeout()
    got = [f"{f.type} {f.seq} {len(f.payload)} {crc32(f.payload):08x}" for f in frames]
    assert got == lines[:-1]
    assert lines[-1] == f"rejected {dec.rejected_frames}"
    # Every byte is either in an accepted frame or counted as garbage.
    assert dec.garbage_bytes + sum(len(f.payload) + 16 for f in frames) == len(data)
    assert dec.pending == 0


def test_stream_set_has_the_required_cases():
    assert {"garbage", "false_sync", "bad_header_crc", "bad_frame_crc", "truncated"} <= set(STREAMS)


def test_decoder_reports_bad_crc_header_and_too_large():
    bad, big = [], []
    dec = FrameDecoder(accept_limit=100, on_bad_crc=bad.append, on_too_large=big.append)
    good = encode_frame(2, 77, b"x" * 10)
    corrupt = bytearray(encode_frame(2, 78, b"y" * 10))
    corrupt[14] ^= 1
    large = encode_frame(6, 79, bytes(500))
    out = dec.feed(bytes(corrupt) + large[:300])
    out += dec.feed(large[300:] + good)
    assert [(f.seq, f.payload) for f in out] == [(77, b"x" * 10)]
    assert [h.seq for h in bad] == [78] and [(h.seq, h.length) for h in big] == [(79, 500)]


def test_decode_frames_helper():
    frames, dec = decode_frames(b"\x00" + encode_frame(1, 2) + b"VW")
    assert [(f.type, f.seq) for f in frames] == [(1, 2)] and dec.garbage_bytes == 3


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x60\x00\x60\x00\x01\x01\x00\x00",  # 96x96 header without pixels
        b"\x01\x00\x01\x00\x02\x01\x00\x00\x00",  # 2 channels
        b"\x01\x00\x01\x00\x01\x07\x00\x00\x00",  # dtype 7
    ],
)
def test_image_rejects_malformed(bad):
    with pytest.raises(m.PayloadError):
        m.Image.decode(bad)


@pytest.mark.parametrize(
    "decoder,payload",
    [
        (m.Result.decode, b"\x00" * 13),
        (m.Result.decode, b"\x00" * 12 + b"\x03\x00" + b"\x01"),
        (m.DeviceInfo.decode, b"\x01" * 50),
        (m.StreamStart.decode, b"\x00" * 7),
        (m.StreamStart.decode, b"\x08" + b"\x00" * 7),
        (m.decode_capture, b"\x04"),
        (m.decode_capture, b""),
        (m.decode_pipeline, b"\x02"),
        (m.decode_ack, b""),
        (m.ErrorMsg.decode, b"\x01"),
        (m.Log.decode, b""),
        (m.Stage.decode, b"\x00\x00\x00\x00"),  # offset, no data
        (m.Stage.decode, bytes(4 + 1025)),
        (m.InferStaged.decode, bytes(11)),
        (m.InferStaged.decode, b"\x60\x00\x60\x00\x02\x01\x00\x00" + bytes(4)),  # 2 channels
        (m.InferStaged.decode, b"\x60\x00\x60\x00\x01\x05\x00\x00" + bytes(4)),  # dtype 5
    ],
)
def test_bodies_reject_malformed(decoder, payload):
    with pytest.raises(m.PayloadError):
        decoder(payload)


def test_staged_vectors_rebuild_the_infer_image():
    """The STAGE chunks carry infer_96x96x1's pixels at their offsets; INFER_STAGED names them by CRC-32."""
    by_name = {f[0]: f for f in FRAMES}
    pixels = by_name["infer_96x96x1"][3][8:]
    for name in ("stage_first", "stage_middle", "stage_last"):
        stage = m.Stage.decode(by_name[name][3])
        assert pixels[stage.offset : stage.offset + len(stage.data)] == stage.data
    staged = m.InferStaged.decode(by_name["infer_staged_96x96x1"][3])
    assert (staged.shape, staged.dtype, staged.kind) == ((96, 96, 1), 1, 0)
    assert staged.pixel_crc32 == crc32(pixels) and staged.pixel_bytes == len(pixels)
    colour = m.InferStaged.decode(by_name["infer_staged_96x96x3"][3])
    assert colour.pixel_crc32 == crc32(by_name["infer_96x96x3"][3][8:])
    biggest = m.Stage.decode(by_name["stage_max"][3])
    assert biggest.offset + len(biggest.data) == m.STAGING_MIN_BYTES and len(biggest.data) == m.STAGE_MAX_DATA
    info = m.DeviceInfo.decode(by_name["info_sim"][3])
    assert info.capabilities & m.Capability.STAGED and int(info.capabilities) == 13


def test_info_truncated_anywhere_is_a_payload_error():
    payload = next(p for n, _, _, p, _ in FRAMES if n == "info_edge")
    for cut in range(len(payload)):
        with pytest.raises(m.PayloadError):
            m.DeviceInfo.decode(payload[:cut])


PIPE = VECTORS / "pipeline"
RAWS = sorted(p.stem for p in PIPE.glob("*.raw"))


@pytest.mark.parametrize("name", RAWS)
def test_pipeline_vectors(name):
    raw = np.frombuffer((PIPE / f"{name}.raw").read_bytes(), np.uint8).reshape(244, 324)
    dec = np.frombuffer((PIPE / f"{name}.decimate").read_bytes(), np.int8).reshape(96, 96)
    box = np.frombuffer((PIPE / f"{name}.boxavg").read_bytes(), np.int8).reshape(96, 96)
    assert np.array_equal(pipeline.to_model_input(pipeline.crop_decimate(raw)), dec)
    assert np.array_equal(pipeline.to_model_input(pipeline.crop_box_average(raw)), box)
    # The formulas of docs/protocol.md section 5, written out independently of the vectorised code.
    for y, x in [(0, 0), (95, 95), (17, 63), (50, 2)]:
        assert dec[y, x] == int(raw[26 + 2 * y, 66 + 2 * x]) - 128
        block = raw[26 + 2 * y : 28 + 2 * y, 66 + 2 * x : 68 + 2 * x].astype(int)
        assert box[y, x] == ((block.sum() + 2) >> 2) - 128


def test_pipeline_helpers():
    raw = pipeline.test_pattern()
    assert raw[10, 20] == (20 + 20) & 0xFF and raw.shape == (244, 324)
    x = pipeline.to_model_input(pipeline.apply_pipeline(raw, 0))
    assert np.array_equal(pipeline.from_model_input(x), pipeline.crop_decimate(raw))
    with pytest.raises(ValueError):
        pipeline.crop_decimate(np.zeros((96, 96), np.uint8))


@pytest.mark.parametrize("shape", [(480, 640, 3), (100, 50), (244, 324), (10, 1000, 3)])
def test_frame_from_image_covers_and_crops(shape):
    arr = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    raw = pipeline.frame_from_image(arr)
    assert raw.shape == (244, 324) and raw.dtype == np.uint8
    if shape == (244, 324):
        assert np.array_equal(raw, arr)


SHAPES = [line.split() for line in (PIPE / "shapes.txt").read_text().splitlines()]


@pytest.mark.parametrize("case", SHAPES, ids=[c[0] for c in SHAPES])
def test_pipeline_shape_vectors(case):
    name, raw_name, h, w, c, mode, scale_hex, zp = case
    h, w, c, mode, zp = int(h), int(w), int(c), int(mode), int(zp)
    scale = float(np.uint32(int(scale_hex, 16)).view(np.float32))
    raw = np.frombuffer((PIPE / f"{raw_name}.raw").read_bytes(), np.uint8).reshape(244, 324)
    want = np.frombuffer((PIPE / "shapes" / f"{name}.int8").read_bytes(), np.int8).reshape(h, w, c)
    got = pipeline.camera_input(raw, h, w, c, scale, zp, mode)
    assert got.shape == (h, w, c) and np.array_equal(got, want)
    assert all(np.array_equal(want[:, :, 0], want[:, :, k]) for k in range(c))
    # Section 5 written out pixel by pixel, in plain Python integers and fractions.
    from fractions import Fraction

    m = max(h, w)
    cw, ch = 192 * w // m, 192 * h // m
    x0, y0 = (324 - cw) // 2, (244 - ch) // 2
    mult = min(int(Fraction(2**17) / (255 * Fraction(scale)) + Fraction(1, 2)), 2**31 - 1)
    for y, x in [(0, 0), (h - 1, w - 1), (h // 3, w // 2), (h - 1, 0), (1, w - 2)]:
        r0, r1, c0, c1 = y * ch // h, (y + 1) * ch // h, x * cw // w, (x + 1) * cw // w
        box = raw[y0 + r0 : y0 + r1, x0 + c0 : x0 + c1].astype(int)
        p = int(box[0, 0]) if mode == 0 else (int(box.sum()) + box.size // 2) // box.size
        n = 2 * p - 255 if zp > -64 else p
        assert want[y, x, 0] == max(-128, min(127, (n * mult + 2**16) // 2**17 + zp)), (y, x)


def test_input_table_is_pixel_minus_128_for_the_camera_conventions():
    for scale, zp in [(2 / 255, -1), (1 / 255, -128)]:
        for s in (scale, float(np.float32(scale))):
            assert np.array_equal(pipeline.input_table(s, zp), np.arange(256) - 128)
    assert np.array_equal(pipeline.input_table(None, None), np.arange(256) - 128)
    # The model's own rounding, not pixel - 128, for a calibration-off scale.
    assert not np.array_equal(pipeline.input_table(0.0079431, -1), np.arange(256) - 128)


def test_camera_input_refuses_shapes_outside_the_pipeline():
    raw = pipeline.test_pattern()
    for h, w, c in [(31, 96, 1), (96, 161, 1), (96, 96, 2)]:
        with pytest.raises(ValueError):
            pipeline.camera_input(raw, h, w, c)
