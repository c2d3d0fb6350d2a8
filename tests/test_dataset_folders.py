"""`dataset build --folders/--csv`: the user's pictures into the dataset store, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from vwwdeploy.cli import main
from vwwdeploy.data.folders import split_indices
from vwwdeploy.data.store import open_split


def _picture(path, value: int, size: int = 40) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    arr = np.clip(value + rng.normal(0, 10, (size, size + 8, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)


def _folders(root, counts: dict[str, int]):
    for name, n in counts.items():
        for i in range(n):
            _picture(root / name / f"{name}_{i}.png", 40 * (len(name) % 5) + i)
    return root


def _error(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if "error:" in line]


def _build(*args) -> int:
    return main(["dataset", "build", *map(str, args), "--size", "32", "--workers", "1"])


def test_class_folders_become_train_and_val_with_vww_labels(tmp_path, capsys):
    src = _folders(tmp_path / "pics", {"person": 10, "notperson": 6})
    (src / "person" / "broken.jpg").write_bytes(b"not a picture")
    (src / "notperson" / "notes.txt").write_text("hello")
    out = tmp_path / "ds"
    assert _build("--folders", src, "--out", out, "--val-fraction", "0.25", "--seed", "3") == 0
    train, val = open_split(out / "train"), open_split(out / "val")
    assert train.label_names == val.label_names == ["notperson", "person"]
    assert (len(train), len(val)) == (12, 4)
    assert sorted(val.labels.tolist()) == [0, 0, 1, 1]  # round(6 * .25) = 2 and round(10 * .25) = 2 per class
    assert train.images().shape == (12, 32, 32)
    assert set(train.files).isdisjoint(val.files)
    report = train.manifest["report"]
    assert report["unreadable"] == 2 and report["files_listed"] == 18
    assert sorted(report["unreadable_files"]["corrupt"]) == sorted(
        [str(src / "person" / "broken.jpg"), str(src / "notperson" / "notes.txt")]
    )
    err = capsys.readouterr().err.replace("\n", "")  # the console wraps long lines
    assert "2 unreadable" in err and "broken.jpg" in err
    # The same seed gives the same split; another seed another one.
    again = tmp_path / "again"
    assert _build("--folders", src, "--out", again, "--val-fraction", "0.25", "--seed", "3") == 0
    assert open_split(again / "val").files == val.files
    assert main(["dataset", "info", str(out)]) == 0


def test_custom_classes_and_csv_combined(tmp_path):
    src = _folders(tmp_path / "pics", {"cat": 4, "dog": 4})
    extra = tmp_path / "more"
    for i in range(4):
        _picture(extra / f"b{i}.png", 200 + i)
    csv = tmp_path / "labels.csv"
    csv.write_text("file,label\n" + "".join(f"more/b{i}.png,bird\n" for i in range(4)))
    out = tmp_path / "ds"
    assert _build("--folders", src, "--csv", csv, "--out", out, "--rgb", "--classes", "dog,bird,cat") == 0
    train = open_split(out / "train")
    assert train.label_names == ["dog", "bird", "cat"]  # the order asked for, not the sorted names
    by_file = dict(zip(train.files, train.labels.tolist()))
    assert {by_file[f] for f in by_file if "/dog/" in f} == {0} and {by_file[f] for f in by_file if "b" in f[-6:]} == {
        1
    }
    assert train.channels == 3
    manifest = json.loads((out / "val" / "dataset.json").read_text())
    assert manifest["report"]["per_class"] == {"dog": 1, "bird": 1, "cat": 1}


def test_other_classes_need_classes(tmp_path, capsys):
    src = _folders(tmp_path / "pics", {"cat": 3, "dog": 3})
    assert _build("--folders", src, "--out", tmp_path / "ds") == 2
    line = _error(capsys)[0]
    assert "sub-folder 'cat' is not one of the person task's classes" in line and "--classes" in line
    assert _build("--folders", src, "--out", tmp_path / "ds", "--classes", "cat,cat") == 2
    assert "'cat' is listed twice" in _error(capsys)[0]
    assert not (tmp_path / "ds").exists()


def _person_csv(tmp_path, labels: list[str]):
    pics = tmp_path / "pics"
    for i in range(len(labels)):
        _picture(pics / f"p{i}.png", 20 * i)
    csv = tmp_path / "labels.csv"
    csv.write_text("file,label\n" + "".join(f"pics/p{i}.png,{label}\n" for i, label in enumerate(labels)))
    return csv


def test_csv_labels_keep_their_meaning(tmp_path):
    csv = _person_csv(tmp_path, ["0", "1", "1", "0", "1", "0"])
    assert _build("--csv", csv, "--out", tmp_path / "ds", "--val-fraction", "0.3") == 0
    train, val = open_split(tmp_path / "ds" / "train"), open_split(tmp_path / "ds" / "val")
    assert train.label_names == ["notperson", "person"]
    got = dict(zip(train.files + val.files, train.labels.tolist() + val.labels.tolist()))
    assert got == {str(tmp_path / "pics" / f"p{i}.png"): v for i, v in enumerate([0, 1, 1, 0, 1, 0])}


@pytest.mark.parametrize(
    "labels, words",
    [
        # a typo'd 7 on a few rows: the first is named with its line, the others counted
        (["0", "1", "7", "1", "0", "7", "1", "7"], "line 4: label '7' is not one of the person task's classes"),
        # one bad row: blamed on the label, not on a class with one picture
        (["0", "1", "0", "1", "7", "0"], "line 6: label '7' is not one of the person task's classes"),
    ],
)
def test_unknown_csv_label_is_refused_with_its_line(tmp_path, capsys, labels, words):
    csv = _person_csv(tmp_path, labels)
    out = tmp_path / "ds"
    assert _build("--csv", csv, "--out", out) == 2
    lines = _error(capsys)
    assert len(lines) == 1 and str(csv) in lines[0] and words in lines[0], lines
    if labels.count("7") == 3:
        assert "(2 more: line 7, 9)" in lines[0]
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv", "pics"]


def test_csv_labels_by_index_into_classes(tmp_path):
    csv = _person_csv(tmp_path, ["0", "1", "2", "0", "1", "2", "bird", "cat"])
    out = tmp_path / "ds"
    assert _build("--csv", csv, "--out", out, "--classes", "cat,dog,bird", "--val-fraction", "0.3") == 0
    train, val = open_split(out / "train"), open_split(out / "val")
    got = dict(zip(train.files + val.files, train.labels.tolist() + val.labels.tolist()))
    assert [got[str(tmp_path / "pics" / f"p{i}.png")] for i in range(8)] == [0, 1, 2, 0, 1, 2, 2, 0]


@pytest.mark.parametrize(
    "layout, message",
    [
        ({}, "has no class sub-folders"),
        ({"person": 0, "notperson": 0}, "hold no files"),
        ({"person": 5}, "only one class ('person')"),
        ({"person": 5, "notperson": 1}, "class 'notperson' has only one readable picture"),
    ],
)
def test_bad_folders_are_one_line_and_write_nothing(tmp_path, capsys, layout, message):
    src = tmp_path / "pics"
    src.mkdir()
    for name in layout:
        (src / name).mkdir()
    _folders(src, {k: v for k, v in layout.items() if v})
    out = tmp_path / "ds"
    assert _build("--folders", src, "--out", out) == 2
    lines = _error(capsys)
    assert len(lines) == 1 and message in lines[0], lines
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["pics"]


def test_all_unreadable_and_bad_options(tmp_path, capsys):
    src = tmp_path / "pics"
    for name in ("notperson", "person"):
        (src / name).mkdir(parents=True)
        (src / name / "x.jpg").write_bytes(b"junk")
    assert _build("--folders", src, "--out", tmp_path / "ds") == 2
    assert "none of the 2 files could be decoded" in _error(capsys)[0]
    assert _build("--folders", src, "--out", tmp_path / "ds", "--val-fraction", "1.5") == 2
    assert "--val-fraction must be between 0 and 1" in _error(capsys)[0]
    assert _build("--csv", tmp_path / "nope.csv", "--out", tmp_path / "ds") == 2
    assert "no such file" in _error(capsys)[0]
    assert not (tmp_path / "ds").exists()


def test_split_is_per_class_and_seeded():
    labels = np.array([0] * 10 + [1] * 30)
    train, val = split_indices(labels, 0.2, seed=1)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(40))
    assert (labels[val] == 0).sum() == 2 and (labels[val] == 1).sum() == 6
    assert np.array_equal(split_indices(labels, 0.2, seed=1)[1], val)
    assert not np.array_equal(split_indices(labels, 0.2, seed=2)[1], val)
