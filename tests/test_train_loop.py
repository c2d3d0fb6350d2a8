"""The train loop end to end on tiny data: logs, summaries, atomic checkpoints, exact resume, SIGKILL and
SIGINT, and the refusals (table-driven through the CLI)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_train_support import TINY, tiny_split

from vwwdeploy.cli import main
from vwwdeploy.training.checkpoint import latest_checkpoint, read_checkpoint

LOG_LINE = re.compile(r"^global step (\d+): loss = (\d+\.\d+) \((\d+\.\d+) sec/step\)$")


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return tiny_split(tmp_path_factory.mktemp("data") / "train", n=24)


def _train(split, train_dir, steps, **kw):
    from vwwdeploy.training.loop import train

    lines = []
    summary = train(split, train_dir, max_steps=steps, log=lines.append, log_every_steps=2, **{**TINY, **kw})
    return summary, lines


@pytest.mark.slow
def test_logs_summaries_checkpoints_and_exact_resume(split, tmp_path):
    from vwwdeploy.training.summaries import read_tags

    # One run straight to step 6 ...
    full, lines = _train(split, tmp_path / "full", 6, summary_every_steps=3)
    steps = [int(m.group(1)) for m in map(LOG_LINE.match, lines) if m]
    assert steps == [2, 4, 6], lines
    assert full["step"] == 6 and all(np.isfinite(loss) for _, loss, _ in full["history"])
    smoothed = full["smoothed_loss"]  # every step counts, not only the logged ones
    assert (smoothed["steps"], smoothed["window"]) == (6, 3)
    assert np.isfinite([smoothed["first"], smoothed["last"]]).all()
    tags = read_tags(tmp_path / "full")
    for tag in ("losses/total_loss", "learning_rate", "train/accuracy", "input_images"):
        assert tags[tag] == [3, 6], tags
    config = json.loads((tmp_path / "full" / "config.json").read_text())
    assert config["width"] == 0.25 and config["learning_rate"] == 0.045 and config["moving_average_decay"] == 0.9999

    # ... equals a run stopped at 3 and resumed to 6: same batches, optimizer and EMA state.
    _train(split, tmp_path / "split", 3)
    resumed, lines = _train(split, tmp_path / "split", 6)
    assert resumed["start_step"] == 3 and any("resumed from ckpt-000000003.npz" in line for line in lines)
    a = read_checkpoint(latest_checkpoint(tmp_path / "full"))
    b = read_checkpoint(latest_checkpoint(tmp_path / "split"))
    assert sorted(a) == sorted(b) and int(b["step"]) == 6
    assert any(k.startswith("optimizer/") for k in a) and any(k.startswith("ema/") for k in a)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-6, err_msg=key)


def _wait_for(predicate, proc, what, limit=240.0):
    """Poll a condition on the child's output files; fail if the child dies first."""
    deadline = time.monotonic() + limit
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"training exited ({proc.returncode}) before {what}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no {what} within {limit} s")
        time.sleep(0.2)


def _start(split, train_dir, *extra):
    cmd = [
        sys.executable,
        "-m",
        "vwwdeploy",
        "train",
        "--dataset",
        str(split),
        "--train-dir",
        str(train_dir),
        "--image-size",
        "32",
        "--batch-size",
        "8",
        "--log-every-steps",
        "1",
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_resume_after_sigkill_and_ctrl_c(split, tmp_path):
    from vwwdeploy.training.config import TrainConfig
    from vwwdeploy.training.loop import Trainer

    train_dir = tmp_path / "run"
    proc = _start(split, train_dir, "--max-steps", "100000", "--save-every-steps", "4")
    _wait_for(
        lambda: (
            (train_dir / "checkpoint.json").exists()
            and json.loads((train_dir / "checkpoint.json").read_text())["step"] >= 4
        ),
        proc,
        "a checkpoint",
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved_path = latest_checkpoint(train_dir)
    saved = read_checkpoint(saved_path)
    step = int(saved["step"])
    assert step >= 4 and step % 4 == 0
    assert not list(train_dir.glob(".*tmp*")) or all(p.name.startswith(".") for p in train_dir.glob(".*tmp*"))

    # What a resumed run starts from is exactly the saved state.
    trainer = Trainer(TrainConfig.load(train_dir))
    trainer.restore(saved_path)
    assert trainer.step == step
    live = {"model": trainer.model.weights, "optimizer": trainer.optimizer_variables, "ema": trainer.ema}
    for key, value in saved.items():
        if key != "step":
            group, index = key.split("/")
            np.testing.assert_array_equal(np.asarray(live[group][int(index)].numpy()), value, err_msg=key)

    # Resume through the CLI, interrupt with SIGINT (Ctrl-C): it saves where it stopped.
    proc = _start(split, train_dir, "--max-steps", "100000")
    first = proc.stdout.readline()
    assert f"resumed from {saved_path.name} at global step {step}" in first, first
    seen = []
    while not seen or int(seen[-1]) < step + 2:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        m = LOG_LINE.match(line.strip())
        if m:
            seen.append(m.group(1))
    assert int(seen[0]) == step + 1  # continues from the saved step
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    stopped = json.loads((train_dir / "checkpoint.json").read_text())["step"]
    assert stopped >= step + 2
    assert f"saved checkpoint at global step {stopped}" in out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A train dir as far as the configuration checks are concerned (they run before any training)."""
    from vwwdeploy.training.config import TrainConfig

    train_dir = tmp_path_factory.mktemp("trained") / "run"
    train_dir.mkdir()
    TrainConfig(image_size=32, batch_size=8).save(train_dir)
    return train_dir


def _bad_cases(split, trained, tmp_path):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("mine")
    rgb = tiny_split(tmp_path / "rgb", n=4, channels=3)
    return [
        (["--dataset", str(tmp_path / "missing"), "--train-dir", str(tmp_path / "t1")], "no such dataset folder"),
        (["--dataset", str(junk), "--train-dir", str(tmp_path / "t2")], "neither a dataset split"),
        (["--dataset", str(split), "--train-dir", str(trained), "--width", "0.5"], "another model configuration"),
        (["--dataset", str(split), "--train-dir", str(trained), "--image-size", "64"], "another model configuration"),
        (["--dataset", str(split), "--train-dir", str(junk)], "not a vwwdeploy train dir"),
        (
            ["--dataset", str(split), "--train-dir", str(tmp_path / "t3"), "--rgb"],
            "grayscale images but the model is RGB",
        ),
        (
            ["--dataset", str(rgb), "--train-dir", str(tmp_path / "t4"), "--image-size", "32", "--grayscale"],
            "RGB images but the model is grayscale",
        ),
        (["--dataset", str(split), "--train-dir", str(tmp_path / "t5"), "--batch-size", "0"], "batch size"),
        (
            ["--dataset", str(split), "--train-dir", str(tmp_path / "t6"), "--image-size", "128"],
            "larger than the dataset's stored size",
        ),
        (["--dataset", str(split), "--train-dir", str(tmp_path / "t7"), "--strategy", "nope"], None),
    ]


def test_bad_input_is_one_line_and_writes_nothing(split, trained, tmp_path, capsys):
    before = sorted(p.name for p in trained.iterdir())
    for args, message in _bad_cases(split, trained, tmp_path):
        try:
            code = main(["train", *args])
        except SystemExit as exc:  # argparse refusals
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert "Traceback" not in err
        if message:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and message in lines[0], (args, err)
    assert sorted(p.name for p in trained.iterdir()) == before
    for name in ("t1", "t2", "t3", "t4", "t5", "t6", "t7"):
        assert not (tmp_path / name).exists(), name


MIRRORED_SCRIPT = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from vwwdeploy.training.loop import Trainer, train
from vwwdeploy.training.config import TrainConfig
assert Trainer(TrainConfig(image_size=32, batch_size=8, train_examples=8), "mirrored").replicas == 2
summary = train(sys.argv[1], sys.argv[2], max_steps=3, image_size=32, batch_size=8, strategy="mirrored",
                log_every_steps=1)
print("STEPS", [s for s, _, _ in summary["history"]])
"""


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus(split, tmp_path):
    """--strategy mirrored splits each batch over the replicas (two logical CPU devices stand in for GPUs)."""
    from vwwdeploy.training.evaluation import evaluate_checkpoint

    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, str(split), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "STEPS [1, 2, 3]" in result.stdout
    assert read_checkpoint(latest_checkpoint(tmp_path / "run"))["step"] == 3
    assert evaluate_checkpoint(tmp_path / "run", split)["count"] == 24
