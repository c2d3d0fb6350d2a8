"""The validate runner against fake boards (in-process, exact TFLM scores): sharding, refusal, errors."""

from __future__ import annotations

import hashlib
import json
import threading

import numpy as np
import pytest
from PIL import Image

from vwwdeploy.device.stats import LinkStats
from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.protocol.messages import Capability, DeviceInfo, Result, TensorInfo
from vwwdeploy.validation.runner import validate


class FakeBoard:
    """Answers like a board running `model` with reference kernels (one shared twin, under a lock)."""

    twin = None
    lock = threading.Lock()
    sha = None
    fail_after = None  # port -> raise DeviceError after this many inferences

    def __init__(self, url, baud=None, timeout=None, retries=None):
        self.url = url
        self.stats = LinkStats()
        self.done = 0
        self.closed = False

    def hello(self):
        t = FakeBoard.twin
        return DeviceInfo(
            protocol_version=1, firmware_version="0.1.0", board="fake", firmware_name="fake-fw",
            model_sha256=FakeBoard.sha, input=TensorInfo(t.inputs[0].shape, "int8", t.inputs[0].scale, t.inputs[0].zero_point),
            output=TensorInfo(t.outputs[0].shape, "int8", t.outputs[0].scale, t.outputs[0].zero_point),
            arena_size=100_000, arena_used=80_000, kernels="reference", clock_hz=48_000_000,
            labels=("notperson", "person"), capabilities=Capability(0), max_rx_payload=27656)

    def infer(self, x):
        if FakeBoard.fail_after is not None and self.url in FakeBoard.fail_after and self.done >= FakeBoard.fail_after[self.url]:
            raise DeviceError(f"no answer from {self.url} after 5 retries")
        with FakeBoard.lock:
            scores = FakeBoard.twin.invoke(np.asarray(x).reshape(FakeBoard.twin.inputs[0].shape))
        self.done += 1
        self.stats.requests += 1
        self.stats.bytes_sent += 9240
        self.stats.bytes_received += 32
        return Result(np.asarray(scores).reshape(-1), latency_us=1000 + int(x.sum()) % 100)

    def close(self):
        self.closed = True


@pytest.fixture(scope="module")
def fake_boards(upstream_model):
    from vwwdeploy.tflm_twin import TflmTwin

    FakeBoard.twin = TflmTwin(upstream_model)
    FakeBoard.sha = hashlib.sha256(upstream_model.read_bytes()).hexdigest()
    FakeBoard.fail_after = None
    yield FakeBoard
    FakeBoard.twin.close()


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory, upstream_test_images):
    folder = tmp_path_factory.mktemp("imgs")
    rows = []
    rng = np.random.default_rng(3)
    for i in range(6):
        arr = rng.integers(0, 256, (100, 140), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"noise{i}.png")
        rows.append(f"noise{i}.png,0")
    rows += [f"{upstream_test_images['person']},1", f"{upstream_test_images['no_person']},0"]
    (folder / "labels.csv").write_text("file,label\n" + "\n".join(rows) + "\n")
    return folder / "labels.csv"


def test_two_fake_boards_share_the_images(fake_boards, small_csv, upstream_model, tmp_path):
    report = validate(["fake://a", "fake://b"], upstream_model, small_csv, tmp_path / "rep",
                      show_progress=False, device_factory=fake_boards)
    on_disk = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert on_disk["device_vs_twin"] == report["device_vs_twin"]
    assert report["device_vs_twin"]["bit_exact_rate"] == 1.0
    assert report["device_vs_twin"]["max_abs_delta"] == 0
    assert [b["port"] for b in report["boards"]] == ["fake://a", "fake://b"]
    assert sum(b["images"] for b in report["boards"]) == 8
    assert report["paths"]["device"]["accuracy"] == report["paths"]["twin"]["accuracy"]
    assert report["paths"]["float"]["available"] is False
    assert (tmp_path / "rep" / "report.html").is_file() and (tmp_path / "rep" / "results.csv").is_file()
    # nothing but the report folder is left next to it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_sha_mismatch_refused_unless_forced(fake_boards, small_csv, upstream_model, tmp_path):
    other = tmp_path / "other.tflite"
    other.write_bytes(upstream_model.read_bytes() + b"\0" * 16)  # same graph, different bytes
    with pytest.raises(UserError, match="runs model sha256 .* flash that model or pass --force"):
        validate(["fake://a"], other, small_csv, tmp_path / "rep", show_progress=False, device_factory=fake_boards)
    assert not (tmp_path / "rep").exists()
    report = validate(["fake://a"], other, small_csv, tmp_path / "rep", limit=2, force=True, show_progress=False,
                      device_factory=fake_boards)
    assert report["forced"] is True and report["boards"][0]["sha256_matches"] is False
    assert any("differs" in w for w in report["warnings"])


def test_a_failing_board_fails_the_run_and_writes_nothing(fake_boards, small_csv, upstream_model, tmp_path):
    fake_boards.fail_after = {"fake://b": 1}
    try:
        with pytest.raises(DeviceError, match="no answer from fake://b"):
            validate(["fake://a", "fake://b"], upstream_model, small_csv, tmp_path / "rep", show_progress=False,
                     device_factory=fake_boards)
    finally:
        fake_boards.fail_after = None
    assert not (tmp_path / "rep").exists()
    assert list(tmp_path.iterdir()) == []
