"""The simulated board, driven through the real client: INFO, INFER, CAPTURE, SET_FRAME, pipelines,
STREAM, camera folders, error answers, TFLM failures."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import serial
from conftest import UPSTREAM_EXPECTED_SCORES
from PIL import Image

from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.link import Device
from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol import pipeline
from vwwdeploy.link.protocol.framing import FrameDecoder, encode_frame
from vwwdeploy.model.tflm_twin import TflmAbort, TflmTwin
from vwwdeploy.virtual_boards.sim import SimBoard, start_sim_in_thread

T = m.MsgType


@pytest.fixture(scope="module")
def tiny_int8():
    from vwwdeploy.testing.tiny_models import tiny_model

    return tiny_model("int8")


@pytest.fixture(scope="module")
def upstream_sim(upstream_model):
    url, stop = start_sim_in_thread(upstream_model)
    yield url, stop.board
    stop()


@pytest.fixture(scope="module")
def upstream_twin(upstream_model):
    with TflmTwin(upstream_model) as twin:
        yield twin


def _png_input(path) -> np.ndarray:
    return pipeline.to_model_input(np.asarray(Image.open(path).convert("L")))[:, :, None]


@pytest.mark.parametrize("tcp", [False, True], ids=["pty", "tcp"])
def test_upstream_model_scores_through_the_sim(upstream_model, upstream_test_images, tcp):
    url, stop = start_sim_in_thread(upstream_model, tcp=tcp)
    try:
        assert url.startswith("socket://127.0.0.1:") if tcp else url.startswith("/dev/")
        with Device(url) as dev:
            info = dev.hello()
            assert info.board == "sim" and info.kernels == "host-runtime" and info.firmware_name == "vwwdeploy-sim"
            assert info.model_sha256 == hashlib.sha256(upstream_model.read_bytes()).hexdigest()
            assert info.input.shape == (1, 96, 96, 1) and info.input.dtype == "int8" and info.input.zero_point == -1
            assert abs(info.input.scale - 2 / 255) < 1e-6 and info.output.shape == (1, 2)
            assert info.arena_used > 0 and info.arena_size >= info.arena_used and info.max_rx_payload == 80000
            assert info.capabilities == m.Capability.CAMERA | m.Capability.SET_FRAME | m.Capability.STAGED
            assert info.labels == ("notperson", "person") and info.protocol_version == 1
            names = list(upstream_test_images)
            results = dev.infer_many([_png_input(upstream_test_images[n]) for n in names])
            assert [list(r.scores) for r in results] == [UPSTREAM_EXPECTED_SCORES[n] for n in names]
            assert all(r.latency_us > 0 and r.instructions == 0 for r in results)
    finally:
        stop()


def test_capture_set_frame_and_pipelines(upstream_sim, upstream_twin):
    url, board = upstream_sim
    raw = np.random.default_rng(5).integers(0, 256, size=(244, 324), dtype=np.uint8)
    with Device(url) as dev:
        dev.set_frame(raw)
        cap = dev.capture(raw=True)
        assert np.array_equal(cap.raw, raw)
        assert np.array_equal(cap.frame, pipeline.crop_decimate(raw))
        want = upstream_twin.invoke(cap.input[None, :, :, None]).reshape(-1)
        assert np.array_equal(cap.result.scores, want)
        dev.set_pipeline(1)
        assert dev.hello().pipeline_mode == m.PipelineMode.BOX_AVERAGE
        cap = dev.capture(infer=False)
        assert cap.result is None and cap.raw is None
        assert np.array_equal(cap.frame, pipeline.crop_box_average(raw))
        dev.set_pipeline(0)


def test_default_camera_is_a_moving_deterministic_scene():
    from vwwdeploy.virtual_boards.sim.camera import Camera

    cam = Camera()
    a, b = cam.frame(), cam.frame()
    assert a.shape == (244, 324) and a.dtype == np.uint8 and not np.array_equal(a, b)
    assert np.array_equal(a, Camera().frame())


def test_camera_folder_cycles_through_any_pictures(upstream_model, tmp_path):
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(tmp_path / "a.jpg")
    Image.fromarray(rng.integers(0, 256, (100, 90), dtype=np.uint8)).save(tmp_path / "b.png")
    Image.fromarray(rng.integers(0, 256, (50, 500, 4), dtype=np.uint8)).save(tmp_path / "c.webp")
    (tmp_path / "notes.txt").write_text("not a picture")
    files = ["a.jpg", "b.png", "c.webp"]
    url, stop = start_sim_in_thread(upstream_model, camera_dir=tmp_path)
    try:
        with Device(url) as dev:
            got = [dev.capture(raw=True, infer=False).raw for _ in range(4)]
    finally:
        stop()
    for i, raw in enumerate(got):
        with Image.open(tmp_path / files[i % 3]) as img:
            assert np.array_equal(raw, pipeline.frame_from_image(img)), (i, sorted(p.name for p in tmp_path.iterdir()))


def test_stream_groups_busy_and_stop(upstream_sim, upstream_twin):
    url, board = upstream_sim
    with Device(url) as dev:
        caps = list(dev.stream(raw=True, count=3))
        assert len(caps) == 3 and all(c.raw is not None and c.result is not None for c in caps)
        for cap in caps:
            assert np.array_equal(cap.frame, pipeline.crop_decimate(cap.raw))
        want = upstream_twin.invoke(caps[-1].input[None, :, :, None]).reshape(-1)
        assert np.array_equal(caps[-1].result.scores, want)
        stream = dev.stream(max_fps=50)
        next(stream)
        with pytest.raises(DeviceError, match="BUSY"):
            dev.infer(np.zeros((96, 96, 1), np.int8))
        assert dev.hello().board == "sim"  # HELLO is served while streaming
        stream.close()  # STREAM_STOP
        assert list(dev.infer(np.zeros((96, 96, 1), np.int8)).scores)  # serving requests again
        assert dev.stats.retries == 0


def _raw_exchange(url: str, data: bytes, want: int = 1) -> list:
    """Send raw bytes, return the first `want` frames the board answers."""
    port = serial.serial_for_url(url, timeout=0.1)
    try:
        port.reset_input_buffer()
        port.write(data)
        dec, frames = FrameDecoder(), []
        for _ in range(100):
            frames += dec.feed(port.read(4096))
            if len(frames) >= want:
                break
        return frames
    finally:
        port.close()


@pytest.mark.parametrize(
    "data,code,seq",
    [
        (encode_frame(0x3F, 9, b""), m.ErrorCode.UNKNOWN_TYPE, 9),
        (encode_frame(T.INFO, 10, b""), m.ErrorCode.UNKNOWN_TYPE, 10),
        (encode_frame(T.CAPTURE, 11, b"\x08"), m.ErrorCode.BAD_PAYLOAD, 11),
        (encode_frame(T.STREAM_START, 12, b"\x00"), m.ErrorCode.BAD_PAYLOAD, 12),
        (encode_frame(T.SET_PIPELINE, 13, b"\x05"), m.ErrorCode.BAD_PAYLOAD, 13),
        (encode_frame(T.INFER, 14, m.Image(np.zeros((8, 8, 1), np.int8)).encode()), m.ErrorCode.BAD_SHAPE, 14),
        (encode_frame(T.INFER, 15, m.Image(np.zeros((96, 96, 1), np.uint8)).encode()), m.ErrorCode.BAD_SHAPE, 15),
        (
            encode_frame(T.SET_FRAME, 16, m.Image(np.zeros((96, 96, 1), np.uint8), m.ImageKind.RAW).encode()),
            m.ErrorCode.BAD_SHAPE,
            16,
        ),
        (encode_frame(T.INFER, 17, b"\x01\x02"), m.ErrorCode.BAD_PAYLOAD, 17),
        # a well-formed header naming an impossible image (2 channels) is BAD_SHAPE, as on the firmware
        (encode_frame(T.INFER, 21, bytes([96, 0, 96, 0, 2, 1, 0, 0]) + bytes(96 * 96 * 2)), m.ErrorCode.BAD_SHAPE, 21),
        (encode_frame(T.SET_FRAME, 18, bytes(80_001)), m.ErrorCode.TOO_LARGE, 18),
        (encode_frame(T.HELLO, 19, b"")[:-1] + b"\x00", m.ErrorCode.BAD_CRC, 19),
        (encode_frame(T.INFER, 20, bytes(100))[:60], m.ErrorCode.BAD_CRC, 20),  # cut short
    ],
    ids=[
        "unknown",
        "device_type",
        "capture_flags",
        "stream_len",
        "pipeline_mode",
        "infer_shape",
        "infer_dtype",
        "set_frame_shape",
        "infer_short",
        "infer_two_channels",
        "too_large",
        "bad_crc",
        "cut_short",
    ],
)
def test_malformed_requests_get_error_answers(upstream_sim, data, code, seq):
    url, _ = upstream_sim
    (frame,) = _raw_exchange(url, data)
    err = m.ErrorMsg.decode(frame.payload)
    assert frame.type == T.ERROR and frame.seq == seq and err.code == code
    with Device(url) as dev:  # and the board still serves
        assert dev.hello().board == "sim"


def test_inference_failure_is_reported_and_the_board_keeps_serving(tiny_int8):
    board = SimBoard(tiny_int8)
    real_factory = board._twin_factory

    class Aborting:
        def invoke(self, x):
            raise TflmAbort("the TFLM runtime aborted (signal 6) while invoking")

        def close(self):
            pass

    board._twin.close()
    board._twin = Aborting()
    board._twin_factory = Aborting
    warnings = []
    board.warn = warnings.append
    url = board.serve_pty()
    try:
        with Device(url) as dev:
            x = np.zeros((32, 32, 1), np.int8)
            with pytest.raises(DeviceError, match="INFERENCE_FAILED: the TFLM runtime aborted"):
                dev.infer(x)
            assert dev.logs and dev.logs[-1].level == m.LogLevel.ERROR and "aborted" in dev.logs[-1].text
            board._twin_factory = real_factory  # the next request gets a fresh interpreter
            with TflmTwin(tiny_int8) as twin:
                assert np.array_equal(dev.infer(x).scores, twin.invoke(x[None]).reshape(-1))
        assert len(warnings) == 1 and "\n" not in warnings[0]
    finally:
        board.stop()


def test_capture_at_the_models_own_size(tiny_int8):
    # The camera path makes any shape of protocol section 5, here the tiny model's 32x32x1.
    url, stop = start_sim_in_thread(tiny_int8, baud=4_000_000)  # paced, fast enough for a test
    raw = np.random.default_rng(9).integers(0, 256, size=(244, 324), dtype=np.uint8)
    try:
        with Device(url) as dev, TflmTwin(tiny_int8) as twin:
            assert dev.hello().input.shape == (1, 32, 32, 1)
            dev.set_frame(raw)
            cap = dev.capture()
            assert np.array_equal(cap.frame, pipeline.resample(raw, 32, 32, 0))
            i = twin.inputs[0]
            x = pipeline.camera_input(raw, 32, 32, 1, i.scale, i.zero_point)
            assert np.array_equal(cap.result.scores, twin.invoke(x[None]).reshape(-1))
    finally:
        stop()


def test_sim_refuses_what_it_cannot_run(tmp_path, tiny_int8):
    from vwwdeploy.testing.tiny_models import tiny_model

    with pytest.raises(UserError, match="does not exist"):
        SimBoard(tmp_path / "none.tflite")
    with pytest.raises(UserError, match="int8"):
        SimBoard(tiny_model("float"))
    with pytest.raises(UserError, match="aborted"):
        SimBoard(tiny_model("degenerate"))
    with pytest.raises(UserError, match="no pictures"):
        SimBoard(tiny_int8, camera_dir=tmp_path)


def test_a_stream_left_running_by_another_program_is_stopped(upstream_sim):
    url, _ = upstream_sim
    port = serial.serial_for_url(url, timeout=0.1)
    port.write(encode_frame(T.STREAM_START, 0, m.StreamStart(max_fps=20).encode()))
    port.read(20_000)  # it streams...
    port.close()  # ... and its program goes away without STREAM_STOP
    with Device(url) as dev:
        x = np.zeros((96, 96, 1), np.int8)
        assert dev.infer(x).scores.size == 2
        assert dev.stats.retries >= 1
