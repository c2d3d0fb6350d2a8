"""The validate runner against fake boards (in-process, exact TFLM scores): sharding, refusal, errors."""

from __future__ import annotations

import hashlib
import json
import threading

import numpy as np
import pytest
from PIL import Image

from vwwdeploy.apps.validation.runner import validate
from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.link.protocol.messages import Capability, DeviceInfo, Result, TensorInfo
from vwwdeploy.link.stats import LinkStats


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
            protocol_version=1,
            firmware_version="0.1.0",
            board="fake",
            firmware_name="fake-fw",
            model_sha256=FakeBoard.sha,
            input=TensorInfo(t.inputs[0].shape, "int8", t.inputs[0].scale, t.inputs[0].zero_point),
            output=TensorInfo(t.outputs[0].shape, "int8", t.outputs[0].scale, t.outputs[0].zero_point),
            arena_size=100_000,
            arena_used=80_000,
            kernels="reference",
            clock_hz=48_000_000,
            labels=("notperson", "person"),
            capabilities=Capability(0),
            max_rx_payload=27656,
        )

    gate = None  # a threading.Event: while set up, boards other than the failing one wait for it

    def infer(self, x):
        if FakeBoard.gate is not None:
            if FakeBoard.fail_after and self.url in FakeBoard.fail_after:
                FakeBoard.gate.set()
            else:
                assert FakeBoard.gate.wait(30), "the failing board never got an image"
        if (
            FakeBoard.fail_after is not None
            and self.url in FakeBoard.fail_after
            and self.done >= FakeBoard.fail_after[self.url]
        ):
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
    from vwwdeploy.model.tflm_twin import TflmTwin

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
    report = validate(
        ["fake://a", "fake://b"],
        upstream_model,
        small_csv,
        tmp_path / "rep",
        show_progress=False,
        device_factory=fake_boards,
    )
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
    report = validate(
        ["fake://a"],
        other,
        small_csv,
        tmp_path / "rep",
        limit=2,
        force=True,
        show_progress=False,
        device_factory=fake_boards,
    )
    assert report["forced"] is True and report["boards"][0]["sha256_matches"] is False
    assert any("differs" in w for w in report["warnings"])


def test_a_failing_board_fails_the_run_and_writes_nothing(fake_boards, small_csv, upstream_model, tmp_path):
    # board b fails on its first image; board a waits until then so it cannot take all the images first
    fake_boards.fail_after = {"fake://b": 0}
    fake_boards.gate = threading.Event()
    try:
        with pytest.raises(DeviceError, match="no answer from fake://b"):
            validate(
                ["fake://a", "fake://b"],
                upstream_model,
                small_csv,
                tmp_path / "rep",
                show_progress=False,
                device_factory=fake_boards,
            )
    finally:
        fake_boards.fail_after = None
        fake_boards.gate = None
    assert not (tmp_path / "rep").exists()
    assert list(tmp_path.iterdir()) == []


def test_float_path_gets_the_dequantized_int8_input(fake_boards, small_csv, upstream_model, tmp_path, monkeypatch):
    """--checkpoint: the float model sees (q - zp) * scale of the very int8 input the board got."""
    import vwwdeploy.training.checkpoint as ckpt
    from vwwdeploy.apps.validation.inputs import load_inputs

    seen = []

    class FloatModel:
        def __call__(self, batch, training=False):
            batch = np.asarray(batch)
            seen.append(batch)
            p = (batch.mean(axis=(1, 2, 3)) + 1) / 2  # a "person" score from brightness
            return np.stack([1 - p, p], axis=1)

    monkeypatch.setattr(ckpt, "load_float_model", lambda train_dir, batch_size=None: (FloatModel(), None))
    (tmp_path / "train").mkdir()
    report = validate(
        ["fake://a"],
        upstream_model,
        small_csv,
        tmp_path / "rep",
        checkpoint=tmp_path / "train",
        show_progress=False,
        device_factory=fake_boards,
    )
    x = load_inputs(small_csv, (1, 96, 96, 1)).int8
    got = np.concatenate(seen)
    assert got.dtype == np.float32 and got.shape == (8, 96, 96, 1)
    np.testing.assert_allclose(got, (x.astype(np.float32) + 1) * np.float32(0.007843137718737125), rtol=1e-6)
    # pixel 0..255 -> int8 -128..127 -> (q + 1) * 2/255: [-0.996, 1.004], training's pixel/127.5 - 1 plus 1/255
    assert got.min() >= -1.0 and got.max() <= 256 / 255 + 1e-6
    assert report["paths"]["float"]["available"] is True and report["paths"]["float"]["accuracy"] is not None
    assert report["cross_metrics"]["device_vs_float"]["available"] is True
