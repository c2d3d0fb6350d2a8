"""`vwwdeploy validate` / `monitor` bad input through the CLI: one line, non-zero exit, nothing written.

Every case here fails before a board answers, so none needs a simulated board."""

from __future__ import annotations

import socket

import pytest
from PIL import Image

from vwwdeploy.cli import main


@pytest.fixture()
def workdir(tmp_path):
    Image.new("L", (64, 48), 100).save(tmp_path / "a.png")
    (tmp_path / "labels.csv").write_text("file,label\na.png,1\n")
    (tmp_path / "m.tflite").write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\0" * 64)
    (tmp_path / "not_a_model.tflite").write_text("hello")
    (tmp_path / "a_file").write_text("x")
    return tmp_path


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CASES = [
    # (name, argv with {d} for the work dir, exit code, expected text)
    (
        "missing model",
        "--port loop:// --model {d}/nope.tflite --data {d}/labels.csv --report {d}/r",
        2,
        "no such model",
    ),
    ("model is a folder", "--port loop:// --model {d} --data {d}/labels.csv --report {d}/r", 2, "is not a file"),
    (
        "not a model",
        "--port loop:// --model {d}/not_a_model.tflite --data {d}/labels.csv --report {d}/r",
        2,
        "not a .tflite",
    ),
    ("missing data", "--port loop:// --model {d}/m.tflite --data {d}/nope.csv --report {d}/r", 2, "no such labels CSV"),
    ("bad csv header", "--port loop:// --model {d}/m.tflite --data {d}/bad_header.csv --report {d}/r", 2, "file,label"),
    (
        "bad csv label",
        "--port loop:// --model {d}/m.tflite --data {d}/bad_label.csv --report {d}/r",
        2,
        "not a class index",
    ),
    (
        "csv names a missing image",
        "--port loop:// --model {d}/m.tflite --data {d}/missing_img.csv --report {d}/r",
        2,
        "no such image",
    ),
    (
        "not a dataset folder",
        "--port loop:// --model {d}/m.tflite --data {d}/empty_dir --report {d}/r",
        2,
        "neither a dataset split",
    ),
    (
        "report is a file",
        "--port loop:// --model {d}/m.tflite --data {d}/labels.csv --report {d}/a_file",
        2,
        "not a directory",
    ),
    (
        "report under a file",
        "--port loop:// --model {d}/m.tflite --data {d}/labels.csv --report {d}/a_file/r",
        2,
        "cannot write",
    ),
    (
        "report is a folder of other things",
        "--port loop:// --model {d}/m.tflite --data {d}/labels.csv --report {d}",
        2,
        "not a validate report folder",
    ),
    ("limit zero", "--port loop:// --model {d}/m.tflite --data {d}/labels.csv --report {d}/r --limit 0", 2, "--limit"),
    (
        "checkpoint missing",
        "--port loop:// --model {d}/m.tflite --data {d}/labels.csv --report {d}/r --checkpoint {d}/nope",
        2,
        "--checkpoint",
    ),
    (
        "same port twice",
        "--port loop:// --port loop:// --model {d}/m.tflite --data {d}/labels.csv --report {d}/r",
        2,
        "twice",
    ),
    (
        "port absent",
        "--port /dev/ttyNOPE9 --model {d}/m.tflite --data {d}/labels.csv --report {d}/r",
        3,
        "does not exist",
    ),
    (
        "nothing listening",
        "--port socket://127.0.0.1:{port} --model {d}/m.tflite --data {d}/labels.csv --report {d}/r",
        3,
        "nothing listens",
    ),
]


@pytest.mark.parametrize("name, argv, code, text", CASES, ids=[c[0] for c in CASES])
def test_validate_bad_input(workdir, capsys, name, argv, code, text):
    (workdir / "bad_header.csv").write_text("path,class\na.png,1\n")
    (workdir / "bad_label.csv").write_text("file,label\na.png,person\n")
    (workdir / "missing_img.csv").write_text("file,label\na.png,1\nb.png,0\n")
    (workdir / "empty_dir").mkdir()
    before = sorted(p.name for p in workdir.iterdir())
    rc = main(["validate", *argv.format(d=workdir, port=_free_tcp_port()).split()])
    err = capsys.readouterr().err
    assert rc == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("vwwdeploy validate: error:"), err
    assert text in lines[0]
    assert "Traceback" not in err
    assert sorted(p.name for p in workdir.iterdir()) == before  # nothing written, not even a temp folder


MONITOR_CASES = [
    ("port absent", "--port /dev/ttyNOPE9", 3, "does not exist"),
    ("negative count", "--port loop:// --count -1", 2, "--count"),
    ("save is a file", "--port loop:// --save {d}/a_file", 2, "not a directory"),
]


@pytest.mark.parametrize("name, argv, code, text", MONITOR_CASES, ids=[c[0] for c in MONITOR_CASES])
def test_monitor_bad_input(workdir, capsys, name, argv, code, text):
    rc = main(["monitor", *argv.format(d=workdir).split()])
    err = capsys.readouterr().err
    assert rc == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and text in lines[0] and "Traceback" not in err, err
