"""`train --strategy multi-worker`: two CPU workers on 127.0.0.1 train the same weights as one worker whose
MirroredStrategy splits the same global batch over two devices (each replica normalises its own half-batch in
batch norm, so that, not one undivided batch, is the like-for-like reference); only the chief writes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_train_support import tiny_split

from vwwdeploy.training.checkpoint import latest_checkpoint, read_checkpoint

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": ""}
STEPS = ["--batch-size", "8", "--image-size", "32", "--log-every-steps", "1"]

ONE_WORKER = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from vwwdeploy.cli import main
sys.exit(main(["train", "--dataset", sys.argv[1], "--train-dir", sys.argv[2], "--strategy", "mirrored", *sys.argv[3:]]))
"""


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _weights(train_dir: Path) -> dict[str, np.ndarray]:
    arrays = read_checkpoint(latest_checkpoint(train_dir))
    return {k: v for k, v in arrays.items() if k.startswith(("model/", "ema/"))}


def _two_workers(split: Path, run: Path, max_steps: int) -> list[str]:
    workers = ",".join(f"127.0.0.1:{p}" for p in _free_ports(2))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vwwdeploy",
                "train",
                "--dataset",
                str(split),
                "--train-dir",
                str(run),
                "--strategy",
                "multi-worker",
                "--workers",
                workers,
                "--task-index",
                str(i),
                "--max-steps",
                str(max_steps),
                *STEPS,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )  # fmt: skip
        for i in range(2)
    ]
    try:
        outs = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    assert f"saved checkpoint at global step {max_steps}" in outs[0][0]
    assert "saved checkpoint" not in outs[1][0]  # the non-chief writes nothing
    return [out for out, _ in outs]


@pytest.mark.slow
def test_two_workers_train_and_resume_what_one_worker_trains(tmp_path):
    split = tiny_split(tmp_path / "data" / "train", n=24)
    run = tmp_path / "multi"
    start = time.monotonic()
    _two_workers(split, run, 3)
    multi_s = time.monotonic() - start
    assert sorted(p.name for p in run.iterdir() if p.name.startswith("events.")) != []
    # Both workers restart (as after one died) and resume from the chief's checkpoint.
    outs = _two_workers(split, run, 6)
    assert all("resumed from ckpt-000000003.npz at global step 3" in out for out in outs)

    start = time.monotonic()
    one = subprocess.run(
        [sys.executable, "-c", ONE_WORKER, str(split), str(tmp_path / "one"), "--max-steps", "3", *STEPS],
        capture_output=True, text=True, env=ENV, timeout=600,
    )  # fmt: skip
    one_s = time.monotonic() - start
    assert one.returncode == 0, one.stderr[-3000:]
    first3 = _weights(tmp_path / "one")
    one = subprocess.run(
        [sys.executable, "-c", ONE_WORKER, str(split), str(tmp_path / "one"), "--max-steps", "6", *STEPS],
        capture_output=True, text=True, env=ENV, timeout=600,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr[-3000:]
    print(f"wall time for 3 steps: two workers {multi_s:.1f} s, one worker (2 replicas) {one_s:.1f} s")

    multi, single = _weights(run), _weights(tmp_path / "one")
    assert read_checkpoint(latest_checkpoint(run))["step"] == 6
    assert multi.keys() == single.keys() and len(multi) > 10
    assert any(not np.allclose(first3[k], single[k]) for k in single)  # steps 4..6 moved the weights
    for key in multi:
        np.testing.assert_allclose(multi[key], single[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_cluster_options_are_checked(tmp_path, capsys):
    from vwwdeploy.cli import main

    split = tiny_split(tmp_path / "data" / "train", n=8)
    base = ["train", "--dataset", str(split), "--train-dir", str(tmp_path / "run"), "--image-size", "32"]
    cases = [
        (["--workers", "127.0.0.1:1,127.0.0.1:2"], "go together"),
        (["--workers", "127.0.0.1:1", "--task-index", "0"], "needs --strategy multi-worker"),
        (["--strategy", "multi-worker", "--workers", "nohost", "--task-index", "0"], "is not host:port"),
        (["--strategy", "multi-worker", "--workers", "a:1,b:2", "--task-index", "2"], "--task-index must be 0..1"),
    ]
    for extra, words in cases:
        assert main(base + extra) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err
    env = dict(os.environ)
    os.environ.pop("TF_CONFIG", None)
    try:
        assert main(base + ["--strategy", "multi-worker"]) == 2
        assert "set TF_CONFIG" in capsys.readouterr().err
    finally:
        os.environ.clear()
        os.environ.update(env)
    assert not (tmp_path / "run").exists()
