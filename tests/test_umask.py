"""Outputs written through the atomic writer get the mode a plain open()/mkdir() gives under the user's umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

# The child sets its own umask, so this process's umask (shared with every other test) is never touched.
_WRITER = """
import os, sys
from pathlib import Path
os.umask(int(sys.argv[1], 8))
from vwwdeploy.atomic import atomic_dir, atomic_write_bytes, atomic_write_text
root = Path(sys.argv[2])
atomic_write_bytes(root / "model.tflite", b"TFL3")
atomic_write_text(root / "notes.txt", "x")
with atomic_dir(root / "report") as tmp:
    (tmp / "report.json").write_text("{}")
with open(root / "plain.txt", "w") as fh:
    fh.write("x")
(root / "plain_dir").mkdir()
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_atomic_outputs_follow_the_umask(tmp_path, umask):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    subprocess.run([sys.executable, "-c", _WRITER, oct(umask), str(tmp_path)], check=True, env=env, timeout=60)
    want_file, want_dir = 0o666 & ~umask, 0o777 & ~umask
    assert _mode(tmp_path / "plain.txt") == want_file  # the reference: what open() itself gives
    assert _mode(tmp_path / "plain_dir") == want_dir
    assert _mode(tmp_path / "model.tflite") == want_file
    assert _mode(tmp_path / "notes.txt") == want_file
    assert _mode(tmp_path / "report") == want_dir
    assert _mode(tmp_path / "report" / "report.json") == want_file


def test_reading_the_umask_leaves_it_unchanged():
    from vwwdeploy.atomic import current_umask

    before = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert current_umask() == 0o027
    finally:
        os.umask(before)
