"""`vwwdeploy demo` without a browser: bad input through the CLI, the event stream and --record against
the simulated board, the command end to end in a subprocess, and the hub's fan-out rules."""

from __future__ import annotations

import base64
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest
from demo_support import expected_for, make_camera_dir
from interruptible import popen_interruptible
from PIL import Image

from vwwdeploy.apps.demo.hub import MAX_PENDING_FRAMES, Hub
from vwwdeploy.cli import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------- bad input


@pytest.fixture
def busy_pty():
    """A pty whose other end is held exclusively, as a running monitor would hold a UART."""
    import serial

    master, slave = os.openpty()
    path = os.ttyname(slave)
    holder = serial.Serial(path, exclusive=True)
    yield path
    holder.close()
    os.close(master)
    os.close(slave)


@pytest.fixture
def taken_http():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield f"127.0.0.1:{s.getsockname()[1]}"


BAD = [
    # (name, argv after "demo", exit code, words the one line must hold)
    ("port absent", ["--port", "/dev/ttyVWWDEPLOY-nonexistent"], 3, ["does not exist"]),
    ("nothing listens", ["--port", "socket://127.0.0.1:{free}"], 3, ["nothing listens"]),
    ("port busy", ["--port", "{busy}"], 3, ["busy"]),
    ("http port taken", ["--port", "/dev/ttyVWWDEPLOY-nonexistent", "--http", "{taken}"], 2, ["taken", "--http"]),
    ("http not host:port", ["--port", "loop://", "--http", "localhost"], 2, ["--http", "HOST:PORT"]),
    ("http port too big", ["--port", "loop://", "--http", "127.0.0.1:70000"], 2, ["--http"]),
    ("http no such address", ["--port", "loop://", "--http", "203.0.113.7:0"], 2, ["no such local address"]),
    ("record is a file", ["--port", "loop://", "--record", "{file}"], 2, ["--record", "not a directory"]),
    ("max fps", ["--port", "loop://", "--max-fps", "70000"], 2, ["--max-fps"]),
]


@pytest.mark.parametrize("name,argv,code,words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line(name, argv, code, words, busy_pty, taken_http, tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    subs = {"free": free_port(), "busy": busy_pty, "taken": taken_http, "file": a_file}
    argv = [a.format(**subs) for a in argv]
    if "--http" not in argv:
        argv += ["--http", "127.0.0.1:0"]
    rc = main(["demo", *argv])
    out, err = capsys.readouterr()
    assert rc == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vwwdeploy demo: error: "), err
    assert all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in err and out == ""  # nothing was served: no URL printed
    assert not any(tmp_path.iterdir()) or [p.name for p in tmp_path.iterdir()] == ["a-file"]


# ----------------------------------------------------------------- against the simulated board


@pytest.fixture(scope="module")
def camera(coco128, upstream_model, tmp_path_factory):
    pictures = make_camera_dir(coco128, tmp_path_factory.mktemp("camera"))
    return pictures[0].parent, expected_for(upstream_model, pictures, modes=(0,))


def read_events(url: str, frames: int, timeout: float = 30.0) -> list[tuple[str, dict]]:
    """Parse the SSE stream until `frames` frame events arrived."""
    events, got = [], 0
    with urllib.request.urlopen(url + "events", timeout=timeout) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        kind, data = None, []
        for raw in resp:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and kind:
                events.append((kind, json.loads("".join(data))))
                got += kind == "frame"
                kind, data = None, []
                if got >= frames:
                    return events
    return events


def test_events_carry_the_board_bytes_and_record_keeps_them(upstream_model, camera, tmp_path):
    from vwwdeploy.apps.demo import DemoServer
    from vwwdeploy.virtual_boards.sim import start_sim_in_thread

    folder, expected = camera
    url, stop = start_sim_in_thread(upstream_model, camera_dir=folder)  # a pty, like a real UART
    record = tmp_path / "rec"
    try:
        with DemoServer(url, ("127.0.0.1", 0), record=record, raw=True).start() as server:
            events = read_events(server.url, frames=4)
            state = json.loads(urllib.request.urlopen(server.url + "state", timeout=10).read())
            page = urllib.request.urlopen(server.url, timeout=10).read().decode()
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(server.url + "nope", timeout=10)
    finally:
        stop()
    assert "app.js" in page and "style.css" in page and missing.value.code == 404
    kinds = [k for k, _ in events]
    assert kinds[:3] == ["hello", "status", "history"]  # a new page first learns who is there
    hello = events[0][1]
    assert hello["board"] == "sim" and hello["port"] == url and hello["focus_label"] == "person"
    assert state["hello"]["model_sha256"] == hello["model_sha256"] and state["status"]["state"] == "connected"
    for _, f in (e for e in events if e[0] == "frame"):
        pixels = np.frombuffer(base64.b64decode(f["pixels"]), np.uint8).reshape(96, 96)
        k = expected.match(pixels, 0)
        assert k is not None and f["scores"] == expected.scores[0][k]
        assert f["focus_score"] == pytest.approx((f["scores"][1] + 128) / 256)
        raw = np.frombuffer(base64.b64decode(f["raw"]), np.uint8).reshape(244, 324)
        assert np.array_equal(raw[26:218:2, 66:258:2], pixels)  # the board decimated this raw frame
        assert f["crop"] == [66, 26, 192, 192]  # the window the page outlines on the raw frame

    rows = list(csv.DictReader(open(record / "frames.csv")))
    assert len(rows) >= 4 and [int(r["index"]) for r in rows] == list(range(len(rows)))
    for row in rows:
        frame = np.asarray(Image.open(record / row["file"]))
        k = expected.match(frame, 0)
        assert k is not None and [int(v) for v in row["scores"].split()] == expected.scores[0][k]
        assert np.asarray(Image.open(record / row["raw_file"])).shape == (244, 324)


def test_command_serves_until_ctrl_c(upstream_model, camera):
    from vwwdeploy.virtual_boards.sim import start_sim_in_thread

    url, stop = start_sim_in_thread(upstream_model, camera_dir=camera[0], tcp=True)
    try:
        proc = popen_interruptible(
            [sys.executable, "-m", "vwwdeploy", "demo", "--port", url, "--http", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            page_url = proc.stdout.readline().strip()
            assert page_url.startswith("http://127.0.0.1:"), proc.stderr.read()
            events = read_events(page_url, frames=1)
            assert events[-1][0] == "frame"
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
    finally:
        stop()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "open http://" in err


# ----------------------------------------------------------------- the hub


def test_a_slow_page_loses_old_frames_never_status():
    hub = Hub(history=5)
    hub.publish_hello({"board": "b"})
    sub = hub.subscribe()
    for i in range(10):
        hub.publish_frame({"index": i, "pixels": "x"})
        if i == 4:
            hub.publish_status("disconnected", "gone")
    got = []
    while (event := sub.next(0)) is not None:
        got.append((event.kind, json.loads(event.data.decode().split("data: ", 1)[1])))
    kinds = [k for k, _ in got]
    assert kinds[:3] == ["hello", "status", "history"] and "status" in kinds[3:]
    frames = [d["index"] for k, d in got if k == "frame"]
    assert frames == list(range(10 - MAX_PENDING_FRAMES, 10)) and sub.dropped_frames == 10 - MAX_PENDING_FRAMES
    # a page that connects now gets the recent results (without pixels) and the last frame
    late = hub.subscribe()
    first = [late.next(0) for _ in range(4)]
    history = json.loads(first[2].data.decode().split("data: ", 1)[1])
    assert [h["index"] for h in history] == [5, 6, 7, 8, 9] and all("pixels" not in h for h in history)
    assert first[3].kind == "frame" and b'"index":9' in first[3].data
    hub.close()
    assert late.next(5) is None  # returns at once once the hub closed


@pytest.mark.parametrize("shape", [(80, 80, 3), (128, 72, 1)])
def test_frame_view_outlines_the_window_of_any_model_shape(shape):
    from vwwdeploy.apps.demo.views import frame_view
    from vwwdeploy.link.collectors import Capture
    from vwwdeploy.link.protocol import pipeline

    raw = np.random.default_rng(4).integers(0, 256, size=pipeline.RAW_SHAPE, dtype=np.uint8)
    h, w, c = shape
    frame = np.repeat(pipeline.resample(raw, h, w)[:, :, None], c, axis=2)
    view = frame_view(0, 0.0, Capture(frame if c == 3 else frame[:, :, 0], raw), None, None)
    assert (view["height"], view["width"], view["channels"]) == shape
    x0, y0, cw, ch = view["crop"]
    assert (cw, ch) == ((192, 192) if h == w else (108, 192)) and (x0, y0) == ((324 - cw) // 2, (244 - ch) // 2)
    assert np.array_equal(np.frombuffer(base64.b64decode(view["pixels"]), np.uint8), frame.reshape(-1))
