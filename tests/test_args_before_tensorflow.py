"""`evaluate` and `export` check their arguments before importing TensorFlow: a wrong path is one line,
with no TensorFlow log in front of it (and no 20 s wait for TensorFlow to load)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = (
    "import json, sys\n"
    "from vwwdeploy.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "print(json.dumps([rc, 'tensorflow' in sys.modules, 'keras' in sys.modules]))\n"
)


@pytest.mark.parametrize(
    "argv,words",
    [
        (["evaluate", "--checkpoint", "{t}/nope", "--dataset", "{t}/nope"], "no such train dir"),
        (["evaluate", "--checkpoint", "{t}", "--dataset", "{t}/nope"], "not a vwwdeploy train dir"),
        (["export", "--checkpoint", "{t}/nope", "--dataset", "{t}/nope", "--out", "{t}/m.tflite"], "no such train dir"),
        (["export", "--checkpoint", "{t}/run", "--dataset", "{t}/nope", "--out", "{t}/m.tflite"], "no checkpoint"),
        (["export", "--checkpoint", "{t}/run", "--dataset", "{t}/run", "--out", "{t}/m.txt"], ".tflite file"),
    ],
)
def test_bad_paths_fail_before_tensorflow_loads(tmp_path, argv, words):
    from vwwdeploy.training.config import TrainConfig

    (tmp_path / "run").mkdir()
    TrainConfig().save(tmp_path / "run")  # a train dir without a checkpoint
    args = [a.format(t=tmp_path) for a in argv]
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    rc, tensorflow, keras = json.loads(proc.stdout.strip().splitlines()[-1])
    assert rc == 2 and not tensorflow and not keras
    err = proc.stderr.strip()
    assert "\n" not in err and words in err, err
