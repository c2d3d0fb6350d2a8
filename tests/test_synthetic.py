"""The synthetic stand-in for COCO: download layout, two classes, SYNTHETIC flag carried into the dataset."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from vwwdeploy.cli import main
from vwwdeploy.data.store import open_split, resolve_split
from vwwdeploy.data.synthetic import make_synthetic_coco
from vwwdeploy.errors import UserError


@pytest.fixture(scope="module")
def synthetic_coco(tmp_path_factory):
    return make_synthetic_coco(tmp_path_factory.mktemp("syn") / "coco", n_train=60, n_val=20, seed=3)


def test_layout_is_the_download_layout(synthetic_coco):
    for split, n in (("train", 60), ("val", 20)):
        coco = json.loads((synthetic_coco / "annotations" / f"instances_{split}2014.json").read_text())
        assert coco["info"]["synthetic"] is True and "SYNTHETIC" in coco["info"]["description"]
        assert len(coco["images"]) == n
        for im in coco["images"]:
            assert (synthetic_coco / f"{split}2014" / im["file_name"]).is_file()
        assert {c["name"] for c in coco["categories"]} >= {"person"}
        persons = [a for a in coco["annotations"] if a["category_id"] == 1]
        assert persons and all(a["segmentation"] and a["area"] > 0 for a in persons)


def test_builder_yields_both_classes_and_synthetic_flag(synthetic_coco, tmp_path, capsys):
    assert (
        main(
            [
                "dataset",
                "build",
                "--coco-dir",
                str(synthetic_coco),
                "--out",
                str(tmp_path / "ds"),
                "--size",
                "64",
                "--workers",
                "2",
            ]
        )
        == 0
    )
    assert "[SYNTHETIC]" in capsys.readouterr().err
    for split, n in (("train", 60), ("val", 20)):
        ds = open_split(resolve_split(tmp_path / "ds", split))
        assert len(ds) == n and ds.synthetic is True
        assert 0 < ds.labels.sum() < n  # both classes
        assert ds.manifest["synthetic"] is True
    train = open_split(tmp_path / "ds" / "train")
    # Figures are visible: positives differ from negatives in the stored pixels (a crude separability check).
    imgs = train.images().astype(np.float32)
    dark_or_light = (np.abs(imgs - imgs.mean(axis=(1, 2), keepdims=True)) > 80).mean(axis=(1, 2))
    assert dark_or_light[train.labels == 1].mean() > dark_or_light[train.labels == 0].mean()


def test_tiny_figures_are_negatives(synthetic_coco):
    """Some negatives hold a person annotation below 0.5% of the image: the VWW rule must label them 0."""
    from vwwdeploy.data.coco_labels import labels_from_file

    ann = synthetic_coco / "annotations" / "instances_train2014.json"
    coco = json.loads(ann.read_text())
    labels = labels_from_file(ann)
    has_person = {a["image_id"] for a in coco["annotations"] if a["category_id"] == 1}
    tiny = [i for i, lab in zip(labels.image_ids, labels.labels) if i in has_person and lab == 0]
    assert tiny
    sizes = {im["id"]: im["width"] * im["height"] for im in coco["images"]}
    for a in coco["annotations"]:
        if a["category_id"] == 1:
            frac = a["area"] / sizes[a["image_id"]]
            assert frac < 0.005 if a["image_id"] in tiny else frac > 0.02


def test_same_seed_same_files(tmp_path):
    def digest(root):
        h = hashlib.sha256()
        for p in sorted(root.rglob("*")):
            if p.is_file():
                h.update(p.name.encode() + p.read_bytes())
        return h.hexdigest()

    a = make_synthetic_coco(tmp_path / "a", 5, 2, seed=7)
    b = make_synthetic_coco(tmp_path / "b", 5, 2, seed=7)
    c = make_synthetic_coco(tmp_path / "c", 5, 2, seed=8)
    assert digest(a) == digest(b) != digest(c)
    make_synthetic_coco(tmp_path / "a", 4, 2, seed=7)  # an earlier synthetic set may be replaced
    assert len(list((tmp_path / "a" / "train2014").iterdir())) == 4


def test_refuses_to_replace_other_folders(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("precious")
    with pytest.raises(UserError):
        make_synthetic_coco(tmp_path / "mine", 3, 1)
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "precious"
