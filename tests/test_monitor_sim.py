"""`vwwdeploy monitor` against the simulated board: plain lines off a TTY, the live table, --save."""

from __future__ import annotations

import csv
import io
import shutil

import numpy as np
import pytest
from interruptible import popen_interruptible
from PIL import Image

from vwwdeploy.apps.monitor import monitor
from vwwdeploy.apps.validation.inputs import camera_pixels
from vwwdeploy.cli import main
from vwwdeploy.virtual_boards.sim import start_sim_in_thread


@pytest.fixture(scope="module")
def camera_dir(coco128, tmp_path_factory):
    folder = tmp_path_factory.mktemp("camera")
    for f in sorted((coco128 / "images").glob("*.jpg"))[:3]:
        shutil.copy(f, folder / f.name)
    return folder


@pytest.fixture(scope="module")
def sim(upstream_model, camera_dir):
    url, stop = start_sim_in_thread(upstream_model, camera_dir=camera_dir)
    yield url
    stop()


def test_monitor_prints_and_saves_what_the_board_saw(sim, camera_dir, tmp_path, capsys):
    save = tmp_path / "frames"
    rc = main(["monitor", "--port", sim, "--count", "4", "--save", str(save), "--raw"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    lines = captured.out.splitlines()
    assert lines[0].startswith("sim ") and "sha256" in lines[0]
    frame_lines = [line for line in lines if line.startswith("frame ")]
    assert len(frame_lines) == 4 and all("latency" in line and "fps" in line for line in frame_lines)

    rows = list(csv.DictReader(open(save / "frames.csv")))
    assert [int(r["index"]) for r in rows] == [0, 1, 2, 3]
    pictures = sorted(camera_dir.iterdir())
    for i, row in enumerate(rows):
        png = save / row["file"]
        assert png.is_file() and f"_{row['label']}_" in row["file"] and f"{float(row['score']):.3f}" in row["file"]
        frame = np.asarray(Image.open(png))
        # the board's pipeline output is exactly what validate's CSV path computes for that picture
        assert np.array_equal(frame, camera_pixels(pictures[i % 3]))
        assert np.asarray(Image.open(save / row["raw_file"])).shape == (244, 324)
        scores = [int(v) for v in row["scores"].split()]
        assert len(scores) == 2 and row["label"] == ("person" if scores[1] > scores[0] else "notperson")
        assert int(row["latency_us"]) > 0
    assert len(list(save.glob("*.png"))) == 8


def test_monitor_live_table(sim):
    out = io.StringIO()
    assert monitor(sim, count=3, out=out, live=True) == 3
    text = out.getvalue()
    assert "latency ms" in text and "fps" in text


def test_ctrl_c_stops_cleanly_and_leaves_a_consistent_save(upstream_model, camera_dir, tmp_path):
    """Until Ctrl-C (no --count): SIGINT ends it with exit 0, and frames.csv lists exactly the PNGs on disk."""
    import signal
    import subprocess
    import sys

    url, stop = start_sim_in_thread(upstream_model, camera_dir=camera_dir, tcp=True)
    try:
        proc = popen_interruptible(
            [sys.executable, "-m", "vwwdeploy", "monitor", "--port", url, "--save", str(tmp_path / "s")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        header = proc.stdout.readline()
        frames = [proc.stdout.readline() for _ in range(3)]
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
        # the board is still usable afterwards: the stream was stopped
        assert monitor(url, count=1, out=io.StringIO(), live=False) == 1
    finally:
        stop()
    assert proc.returncode == 0, err
    assert "sha256" in header and all(f.startswith("frame ") for f in frames)
    assert "Traceback" not in err
    rows = list(csv.DictReader(open(tmp_path / "s" / "frames.csv")))
    assert len(rows) >= 3
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in (tmp_path / "s").glob("*.png"))
    assert not list((tmp_path / "s").glob(".*tmp*"))
