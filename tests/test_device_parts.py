"""The parts of the host client (vwwdeploy/link/): the staging policy's decisions, error codes on
DeviceError, and the link's one read strategy for every transport."""

from __future__ import annotations

import numpy as np
import pytest

from vwwdeploy.errors import DeviceError
from vwwdeploy.link import Device
from vwwdeploy.link.protocol import messages as m
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
