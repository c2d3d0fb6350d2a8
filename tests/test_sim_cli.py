"""`vwwdeploy sim` through the CLI: serves and prints its URL first, stops cleanly; bad input is one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from interruptible import popen_interruptible

from vwwdeploy.cli import main
from vwwdeploy.link import Device
from vwwdeploy.link.protocol.messages import Capability


@pytest.fixture(scope="module")
def tiny():
    from vwwdeploy.testing.tiny_models import tiny_model

    return {name: tiny_model(name) for name in ("int8", "float", "degenerate")}


@pytest.mark.parametrize(
    "args,words",
    [
        (["--model", "{missing}"], "does not exist"),
        (["--model", "{int8}", "--camera-dir", "{missing}"], "camera folder"),
        (["--model", "{int8}", "--camera-dir", "{empty}"], "no pictures"),
        (["--model", "{int8}", "--baud", "0"], "--baud"),
        (["--model", "{int8}", "--reset-every", "-1"], "--reset-every"),
        (["--model", "{int8}", "--tcp", "localhost"], "HOST:PORT"),
        (["--model", "{int8}", "--fault-rate", "2"], "[0, 1)"),
        (["--model", "{int8}", "--fault-rate", "lots"], "probability"),
        (["--model", "{float}"], "int8"),
        (["--model", "{degenerate}"], "aborted"),
        (["--model", "{int8}", "--tcp", "203.0.113.1:1"], "cannot listen"),
    ],
    ids=[
        "model_missing",
        "camera_missing",
        "camera_empty",
        "baud",
        "reset_every",
        "tcp_format",
        "rate_range",
        "rate_text",
        "float_model",
        "tflm_abort",
        "tcp_unbindable",
    ],
)
def test_bad_input_is_one_line(args, words, tiny, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    paths = {"missing": tmp_path / "nope", "empty": tmp_path / "empty", **tiny}
    argv = ["sim"] + [a.format(**{k: str(v) for k, v in paths.items()}) for a in args]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert words in err[-1] and "Traceback" not in "\n".join(err)
    assert len([line for line in err if not line.startswith("usage:") and not line.startswith(" ")]) == 1


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_sim_serves_and_stops_on_ctrl_c(tiny, transport):
    extra = ["--tcp", "127.0.0.1:0", "--no-staging"] if transport == "tcp" else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(_repo()), os.environ.get("PYTHONPATH")])))
    proc = popen_interruptible(
        [sys.executable, "-m", "vwwdeploy", "sim", "--model", str(tiny["int8"]), "--baud", "921600", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("socket://127.0.0.1:") if transport == "tcp" else url.startswith("/dev/pts/")
        with Device(url) as dev:
            info = dev.hello()
        assert info.board == "sim" and info.input.shape == (1, 32, 32, 1)
        assert bool(info.capabilities & Capability.STAGED) == (transport == "pty")  # tcp run: --no-staging
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "Traceback" not in err
    assert "stopped after 1 requests" in err


def _repo():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent
