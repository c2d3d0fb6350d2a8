"""`vwwdeploy dataset mlperf-vww`: the MLPerf Tiny accuracy-set layout from COCO annotations (the 2.5% box
rule) or from a VWW build, balanced and seeded, on the 128 shared COCO images."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from vwwdeploy.apps.mlperf.dataset import mlperf_labels, read_accuracy_set
from vwwdeploy.cli import main


@pytest.fixture(scope="module")
def coco(coco128):
    return coco128 / "annotations_coco_json" / "instances_train2017_coco128.json", coco128 / "images"


def _presence(coco128):
    with open(coco128 / "person_presence.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    person = {int(r["stem"]) for r in rows if float(r["max_person_box_area_frac"]) > 0.025}
    none = {int(r["stem"]) for r in rows if r["has_person"] == "0"}
    return person, none


def test_rule_matches_the_independent_presence_table(coco, coco128):
    labels = mlperf_labels(json.loads(coco[0].read_text()))
    person, none = _presence(coco128)
    assert {k for k, v in labels.items() if v == 1} == person and len(person) == 46
    assert {k for k, v in labels.items() if v == 0} == none and len(none) == 67
    assert len(labels) == 113  # 15 images with only small persons belong to neither class


def _build(coco, out, *extra):
    return main(["dataset", "mlperf-vww", "--annotations", str(coco[0]), "--images", str(coco[1]),
                 "--out", str(out), *extra])  # fmt: skip


def test_layout_balance_seed_and_resize(coco, coco128, tmp_path):
    assert _build(coco, tmp_path / "a", "--count", "40", "--seed", "3") == 0
    files = read_accuracy_set(tmp_path / "a", 96 * 96 * 3)
    assert len(files) == 40 and sum(f.label for f in files) == 20 and {f.classes for f in files} == {2}
    rows = (tmp_path / "a" / "y_labels.csv").read_text().splitlines()
    assert all(r.endswith((",2,0", ",2,1")) and r.count(",") == 2 for r in rows)
    person, none = _presence(coco128)
    for f in files:
        assert int(f.name.removesuffix(".bin")) in (person if f.label else none)
    # same seed: the same bytes; another seed: another selection or order
    assert _build(coco, tmp_path / "b", "--count", "40", "--seed", "3") == 0
    assert (tmp_path / "b" / "y_labels.csv").read_text() == "\n".join(rows) + "\n"
    assert all((tmp_path / "b" / f.name).read_bytes() == f.path.read_bytes() for f in files)
    assert _build(coco, tmp_path / "c", "--count", "40", "--seed", "4") == 0
    assert (tmp_path / "c" / "y_labels.csv").read_text() != (tmp_path / "a" / "y_labels.csv").read_text()
    # the whole image squeezed to 96x96 (no crop): close to a plain area average of the original
    f = files[0]
    src = np.asarray(Image.open(coco[1] / f"{f.name.removesuffix('.bin')}.jpg").convert("RGB"), dtype=np.float64)
    h, w = src.shape[:2]
    ys, xs = np.arange(97) * h // 96, np.arange(97) * w // 96
    ref = np.array(
        [[src[ys[i] : ys[i + 1], xs[j] : xs[j + 1]].mean(axis=(0, 1)) for j in range(96)] for i in range(96)]
    )
    got = np.frombuffer(f.path.read_bytes(), np.uint8).reshape(96, 96, 3)
    assert np.mean(np.abs(got - ref)) < 6


def test_default_count_is_the_largest_balanced_set(coco, tmp_path, capsys):
    assert _build(coco, tmp_path / "all") == 0
    assert len(read_accuracy_set(tmp_path / "all")) == 92
    assert "92 files (46 person, 46 no person)" in capsys.readouterr().err


def test_too_many_files_is_one_line_and_writes_nothing(coco, tmp_path, capsys):
    assert _build(coco, tmp_path / "x", "--count", "200") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--count 200 needs 100 images of each class; there are 46 person" in err[0]
    assert not (tmp_path / "x").exists()


def test_from_a_vww_rgb_build(coco, tmp_path):
    assert main(["dataset", "build", "--annotations", str(coco[0]), "--images", str(coco[1]), "--out",
                 str(tmp_path / "vww"), "--rgb", "--workers", "1"]) == 0  # fmt: skip
    assert main(["dataset", "mlperf-vww", "--vww", str(tmp_path / "vww"), "--out", str(tmp_path / "m")]) == 0
    files = read_accuracy_set(tmp_path / "m", 96 * 96 * 3)
    assert len(files) == 100 and sum(f.label for f in files) == 50  # the VWW rule: 50 of 128 positive
