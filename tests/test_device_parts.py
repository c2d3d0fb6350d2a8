"""The parts of the host client (vwwdeploy/link/): the staging policy's decisions, error codes on
DeviceError, and the link's one read strategy for every transport."""

from __future__ import annotations

import numpy as np
import pytest

from vwwdeploy.errors import DeviceError
from vwwdeploy.link import Device
from vwwdeploy.link.collectors import group_bytes
from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol import pipeline
from vwwdeploy.link.staging import FALL_BACK_AFTER_RESETS, SWITCH_AFTER_FAILURES, Decision, StagingPolicy
from vwwdeploy.testing.mean_classifier import MeanClassifier
from vwwdeploy.virtual_boards.sim import SimBoard

T = m.MsgType


def test_policy_switches_only_armed_auto_infers_after_repeated_failures():
    policy = StagingPolicy("auto")
    assert policy.after_failure(T.INFER, SWITCH_AFTER_FAILURES) is Decision.RESEND  # not armed
    policy.whole_frames(True)
    assert policy.after_failure(T.INFER, SWITCH_AFTER_FAILURES - 1) is Decision.RESEND
    assert policy.after_failure(T.HELLO, SWITCH_AFTER_FAILURES) is Decision.RESEND
    assert policy.after_failure(T.INFER, SWITCH_AFTER_FAILURES) is Decision.SWITCH_TO_STAGED
    policy.whole_frames(False)
    assert policy.after_failure(T.INFER, 9) is Decision.RESEND
    never = StagingPolicy("never")
    never.whole_frames(True)
    assert never.after_failure(T.INFER, 9) is Decision.RESEND


def test_policy_switch_needs_the_capability_and_is_final_without_it():
    policy = StagingPolicy("auto")
    assert not policy.switched(0) and policy.unsupported and not policy.staged
    policy.whole_frames(True)
    assert policy.after_failure(T.INFER, 5) is Decision.RESEND  # gave up on staging: never armed again
    other = StagingPolicy("auto")
    assert other.switched(m.Capability.STAGED) and other.staged


def test_policy_resets_restage_then_fall_back_to_whole_frames():
    policy = StagingPolicy("auto")
    policy.staged = True
    assert policy.after_reset() is Decision.RESEND  # no staged exchange running
    policy.staging(True)
    assert policy.after_reset() is Decision.RESTAGE
    assert policy.after_cut_short(FALL_BACK_AFTER_RESETS - 1) is Decision.RESTAGE
    assert policy.after_cut_short(FALL_BACK_AFTER_RESETS) is Decision.WHOLE_FRAMES
    assert not policy.staged and policy.unsupported
    always = StagingPolicy("always")
    assert always.start_staged() and always.after_cut_short(10) is Decision.RESTAGE


@pytest.fixture
def mean_board(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"stand-in")
    board = SimBoard(model, runtime=lambda: MeanClassifier((1, 96, 96, 1)), warn=lambda text: None)
    yield board
    board.stop()


@pytest.mark.parametrize("tcp", [False, True], ids=["pty", "socket"])
def test_same_reads_on_every_transport(mean_board, tcp):
    url = f"socket://{':'.join(map(str, mean_board.serve_tcp()))}" if tcp else mean_board.serve_pty()
    x = np.full((96, 96, 1), 7, np.int8)
    with Device(url) as dev:
        assert dev.hello().input.shape == (1, 96, 96, 1)
        results = dev.infer_many([x, -x, x])
    assert [r.scores.tolist() for r in results] == [[-7, 7], [7, -7], [-7, 7]]


def test_device_error_carries_the_board_error_code(mean_board):
    with Device(mean_board.serve_pty(), retries=1) as dev:  # no hello: the client cannot check the shape
        with pytest.raises(DeviceError) as caught:
            dev.infer(np.zeros((8, 8, 1), np.int8))
    assert caught.value.code == m.ErrorCode.BAD_SHAPE and "BAD_SHAPE" in str(caught.value)
    assert DeviceError("no code").code is None


def test_capture_and_stream_carry_the_models_own_shape_and_quantization(tmp_path):
    # 80x80x3 with a quantization that is not pixel - 128: the client's Capture.input must be the board's.
    model = tmp_path / "m.tflite"
    model.write_bytes(b"stand-in")
    spec = ((1, 80, 80, 3), False, 0.0123, 7)
    board = SimBoard(model, runtime=lambda: MeanClassifier(*spec), warn=lambda text: None)
    raw = np.random.default_rng(3).integers(0, 256, size=pipeline.RAW_SHAPE, dtype=np.uint8)
    want = pipeline.camera_input(raw, 80, 80, 3, 0.0123, 7, mode=1)
    mean = int(want.astype(np.int64).sum()) // want.size
    try:
        with Device(board.serve_pty()) as dev:
            dev.hello()
            dev.set_frame(raw)
            dev.set_pipeline(1)
            cap = dev.capture()
            streamed = list(dev.stream(count=2))
    finally:
        board.stop()
    for got in [cap, *streamed]:
        assert got.frame.shape == (80, 80, 3) and np.array_equal(got.input, want)
        assert got.result.scores.tolist() == [-mean, mean]
    assert not np.array_equal(cap.input, pipeline.to_model_input(cap.frame))


def test_capture_wire_budget_follows_the_models_frame():
    flags = m.CaptureFlags.NO_INFER
    gray128 = m.TensorInfo((1, 128, 128, 1), "int8", 2 / 255, -1)
    rgb80 = m.TensorInfo((1, 80, 80, 3), "int8", 2 / 255, -1)
    tiny = m.TensorInfo((1, 16, 16, 1), "int8", 2 / 255, -1)  # the pipeline cannot feed it: 96x96x1 frames
    assert group_bytes(flags, gray128) - group_bytes(flags, rgb80) == 128 * 128 - 80 * 80 * 3
    assert group_bytes(flags, tiny) - group_bytes(flags, rgb80) == 96 * 96 - 80 * 80 * 3
    assert group_bytes(flags) - group_bytes(flags, rgb80) == 160 * 160 * 3 - 80 * 80 * 3
