"""`vwwdeploy dataset build`: labels by the VWW rule, the image store, odd images, atomic output, bad input."""

from __future__ import annotations

import csv
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vwwdeploy.cli import main
from vwwdeploy.data.build import BuildOptions, build_split
from vwwdeploy.data.store import open_split


def _coco_json(images, annotations, categories=None):
    return {
        "info": {"description": "test"},
        "images": images,
        "annotations": annotations,
        "categories": categories or [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
    }


def _write_jpeg(path, w, h, seed, mode="RGB"):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((w, h), Image.Resampling.BILINEAR)
    if mode != "RGB":
        img = img.convert(mode)
    img.save(path, "JPEG", quality=90)


def _tiny_coco(root: Path, n=6, w=64, h=48):
    """n JPEGs; even ids carry a person of area 0.01 x image area (positive), odd ones a car."""
    images_dir = root / "imgs"
    images_dir.mkdir(parents=True)
    images, anns = [], []
    for i in range(1, n + 1):
        name = f"{i:012d}.jpg"
        _write_jpeg(images_dir / name, w, h, seed=i)
        images.append({"id": i, "file_name": name, "width": w, "height": h})
        cat = 1 if i % 2 == 0 else 3
        anns.append({"id": 100 + i, "image_id": i, "category_id": cat, "area": 0.01 * w * h, "bbox": [0, 0, 8, 8]})
    ann_path = root / "instances.json"
    ann_path.write_text(json.dumps(_coco_json(images, anns)))
    return ann_path, images_dir


def _build(*argv):
    return main(["dataset", "build", *map(str, argv)])


# ---------------------------------------------------------------- real data


def test_coco128_labels_match_person_presence(coco128, tmp_path):
    ann = coco128 / "annotations_coco_json" / "instances_train2017_coco128.json"
    assert _build("--annotations", ann, "--images", coco128 / "images", "--out", tmp_path / "ds") == 0
    split = open_split(tmp_path / "ds")
    with open(coco128 / "person_presence.csv", newline="") as fh:
        expected = {int(r["stem"]): int(r["vww_label"]) for r in csv.DictReader(fh)}
    assert len(split) == 128
    assert {int(i): int(lab) for i, lab in zip(split.image_ids, split.labels)} == expected
    assert int(split.labels.sum()) == 50
    assert split.label_names == ["notperson", "person"] and split.size == 128 and split.channels == 1
    assert split.files[0] == os.path.join(str(coco128 / "images"), "000000000009.jpg")
    imgs = split.images()
    assert imgs.shape == (128, 128, 128) and imgs.dtype == np.uint8
    assert (imgs.std(axis=(1, 2)) > 10).all()  # real pictures, not blank
    report = split.manifest["report"]
    assert report["images_stored"] == 128 and report["skipped_corrupt"] == 0
    assert split.synthetic is False

    # The stored image is the whole picture shrunk to SxS: compare with a plain full decode + resize.
    ref = Image.open(split.files[0]).convert("L").resize((128, 128), Image.Resampling.BILINEAR)
    diff = np.abs(imgs[0].astype(int) - np.asarray(ref, dtype=int))
    assert diff.mean() < 4


def test_coco128_other_category(coco128, tmp_path, capsys):
    ann = coco128 / "annotations_coco_json" / "instances_train2017_coco128.json"
    assert (
        _build(
            "--annotations",
            ann,
            "--images",
            coco128 / "images",
            "--out",
            tmp_path / "car",
            "--category",
            "car",
            "--size",
            "96",
            "--rgb",
        )
        == 0
    )
    split = open_split(tmp_path / "car")
    coco = json.loads(ann.read_text())
    car_id = next(c["id"] for c in coco["categories"] if c["name"] == "car")
    area = {im["id"]: im["width"] * im["height"] for im in coco["images"]}
    positives = {
        a["image_id"]
        for a in coco["annotations"]
        if a["category_id"] == car_id and a["area"] / area[a["image_id"]] > 0.005
    }
    assert {int(i) for i, lab in zip(split.image_ids, split.labels) if lab} == positives
    assert 0 < len(positives) < 128
    assert split.label_names == ["notcar", "car"] and split.categories == ["car"]
    assert split.images([0]).shape == (1, 96, 96, 3)
    # One image of coco128 is grayscale: with --rgb it is expanded and counted as converted.
    assert split.manifest["report"]["converted_other_mode"] == 1
    assert "notcar" in capsys.readouterr().err


# ---------------------------------------------------------------- rule details


def test_threshold_is_strict_like_the_official_script(tmp_path):
    w, h = 100, 50
    images = [{"id": i, "file_name": f"{i}.jpg", "width": w, "height": h} for i in (1, 2, 3, 4)]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "area": 0.005 * w * h},  # tie: negative, as upstream (`>`)
        {"id": 2, "image_id": 2, "category_id": 1, "area": 0.005 * w * h + 0.01},
        {"id": 3, "image_id": 3, "category_id": 3, "area": 0.5 * w * h},  # big car is not a person
        {"id": 4, "image_id": 4, "category_id": 1, "area": 1.0},  # tiny person
        {"id": 5, "image_id": 4, "category_id": 1, "area": 0.2 * w * h},  # ... and a big one in the same image
    ]
    from vwwdeploy.data.coco_labels import vww_labels

    coco = _coco_json(images, anns)
    assert vww_labels(coco).labels.tolist() == [0, 1, 0, 1]
    assert vww_labels(coco, ["car"]).labels.tolist() == [0, 0, 1, 0]
    assert vww_labels(coco, ["person", "car"]).labels.tolist() == [0, 1, 1, 1]
    assert vww_labels(coco, threshold=0.3).labels.tolist() == [0, 0, 0, 0]
    # Categories are found by name: renumbered ids give the same labels.
    renumbered = _coco_json(
        images,
        [dict(a, category_id=a["category_id"] + 40) for a in anns],
        [{"id": 41, "name": "person"}, {"id": 43, "name": "car"}],
    )
    assert vww_labels(renumbered).labels.tolist() == [0, 1, 0, 1]


def test_several_categories_label_names(tmp_path):
    ann, imgs = _tiny_coco(tmp_path)
    assert (
        _build(
            "--annotations", ann, "--images", imgs, "--out", tmp_path / "o", "--category", "person", "--category", "car"
        )
        == 0
    )
    split = open_split(tmp_path / "o")
    assert split.labels.tolist() == [1] * 6
    assert split.label_names == ["notperson+car", "person+car"] and split.categories == ["person", "car"]


# ---------------------------------------------------------------- odd images


def test_odd_images_skipped_or_converted_and_counted(tmp_path):
    ann, imgs = _tiny_coco(tmp_path, n=8)
    (imgs / f"{1:012d}.jpg").unlink()  # missing
    (imgs / f"{2:012d}.jpg").write_bytes(b"this is not a jpeg")  # corrupt
    data = (imgs / f"{3:012d}.jpg").read_bytes()
    (imgs / f"{3:012d}.jpg").write_bytes(data[: len(data) // 2])  # truncated
    _write_jpeg(imgs / f"{4:012d}.jpg", 64, 48, seed=4, mode="CMYK")
    sixteen = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    Image.fromarray(sixteen).save(imgs / f"{5:012d}.jpg", "PNG")  # a 16-bit PNG behind a .jpg name
    manifest = build_split(ann, imgs, tmp_path / "o", BuildOptions(workers=2, size=32))
    r = manifest["report"]
    assert (r["skipped_missing"], r["skipped_corrupt"], r["skipped_truncated"]) == (1, 1, 1)
    assert (r["converted_cmyk_to_rgb"], r["converted_16bit_to_8bit"]) == (1, 1)
    assert r["images_listed"] == 8 and r["images_stored"] == 5
    assert r["examples"]["missing"] == [str(imgs / f"{1:012d}.jpg")]
    split = open_split(tmp_path / "o")
    assert split.image_ids == ["4", "5", "6", "7", "8"]
    assert split.labels.tolist() == [1, 0, 1, 0, 1]
    # the 16-bit ramp came out as a full-range 8-bit ramp, not clipped to white
    ramp = split.images([1])[0]
    assert ramp.min() < 10 and ramp.max() > 245 and 100 < ramp.mean() < 155


def test_workers_and_shards_do_not_change_the_result(tmp_path):
    ann, imgs = _tiny_coco(tmp_path, n=70)  # > 2 decode chunks
    one = build_split(ann, imgs, tmp_path / "a", BuildOptions(workers=1, size=40, shard_size=1000))
    two = build_split(ann, imgs, tmp_path / "b", BuildOptions(workers=2, size=40, shard_size=16))
    assert len(one["shards"]) == 1 and len(two["shards"]) == 5
    a, b = open_split(tmp_path / "a"), open_split(tmp_path / "b")
    assert a.image_ids == b.image_ids and (a.labels == b.labels).all()
    np.testing.assert_array_equal(a.images(), b.images())
    np.testing.assert_array_equal(b.images([69, 0, 33]), a.images()[[69, 0, 33]])
    # With another thread running (as under TensorFlow) the pool starts from a forkserver instead of fork.
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        build_split(ann, imgs, tmp_path / "c", BuildOptions(workers=2, size=40, shard_size=16))
    finally:
        stop.set()
        thread.join()
    np.testing.assert_array_equal(open_split(tmp_path / "c").images(), a.images())


def test_rebuild_replaces_previous_build(tmp_path):
    ann, imgs = _tiny_coco(tmp_path)
    assert _build("--annotations", ann, "--images", imgs, "--out", tmp_path / "o", "--size", "32") == 0
    assert _build("--annotations", ann, "--images", imgs, "--out", tmp_path / "o", "--size", "48") == 0
    assert open_split(tmp_path / "o").size == 48
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs", "instances.json", "o"]


# ---------------------------------------------------------------- bad input


def _no_annotations(root, ann, imgs):
    d = json.loads(ann.read_text())
    del d["annotations"]
    ann.write_text(json.dumps(d))
    return ["--annotations", ann, "--images", imgs]


def _malformed(root, ann, imgs):
    ann.write_text('{"images": [')
    return ["--annotations", ann, "--images", imgs]


def _missing_json(root, ann, imgs):
    return ["--annotations", root / "nope.json", "--images", imgs]


def _images_dir_absent(root, ann, imgs):
    return ["--annotations", ann, "--images", root / "no-such-dir"]


def _wrong_images_dir(root, ann, imgs):
    (root / "empty").mkdir()
    return ["--annotations", ann, "--images", root / "empty"]


def _empty_split(root, ann, imgs):
    d = json.loads(ann.read_text())
    d["images"], d["annotations"] = [], []
    ann.write_text(json.dumps(d))
    return ["--annotations", ann, "--images", imgs]


def _all_images_corrupt(root, ann, imgs):
    for p in imgs.iterdir():
        p.write_bytes(b"garbage")
    return ["--annotations", ann, "--images", imgs]


def _unknown_category(root, ann, imgs):
    return ["--annotations", ann, "--images", imgs, "--category", "persn"]


def _out_is_a_file(root, ann, imgs):
    return ["--annotations", ann, "--images", imgs, "--out", ann]


def _out_under_a_file(root, ann, imgs):
    return ["--annotations", ann, "--images", imgs, "--out", ann / "sub"]


def _out_unwritable(root, ann, imgs):
    return ["--annotations", ann, "--images", imgs, "--out", "/proc/vwwdeploy-test-out"]


def _out_is_someone_elses_folder(root, ann, imgs):
    return ["--annotations", ann, "--images", imgs, "--out", imgs]


def _not_instances(root, ann, imgs):
    ann.write_text("[1, 2, 3]")
    return ["--annotations", ann, "--images", imgs]


def _coco_dir_not_download(root, ann, imgs):
    return ["--coco-dir", root]


def _bad_image_entry(root, ann, imgs):
    d = json.loads(ann.read_text())
    del d["images"][0]["width"]
    ann.write_text(json.dumps(d))
    return ["--annotations", ann, "--images", imgs]


def _bad_threshold(root, ann, imgs):
    return ["--annotations", ann, "--images", imgs, "--small-object-area-threshold", "1.5"]


def _bad_size(root, ann, imgs):
    return ["--annotations", ann, "--images", imgs, "--size", "8"]


def _annotations_without_images(root, ann, imgs):
    return ["--annotations", ann]


BAD_INPUT = [
    (_missing_json, "not found"),
    (_malformed, "not valid JSON"),
    (_not_instances, "not a COCO instances file"),
    (_no_annotations, "no `annotations`"),
    (_bad_image_entry, "malformed image entry"),
    (_images_dir_absent, "images folder"),
    (_wrong_images_dir, "none of the 4 images"),
    (_empty_split, "lists no images"),
    (_all_images_corrupt, "empty split"),
    (_unknown_category, "valid names: car, person"),
    (_out_is_a_file, "not a directory"),
    (_out_under_a_file, "not a directory"),
    (_out_unwritable, "cannot write"),
    (_out_is_someone_elses_folder, "not a vwwdeploy dataset"),
    (_coco_dir_not_download, "dataset download"),
    (_bad_threshold, "threshold must be in [0, 1)"),
    (_bad_size, "--size must be between"),
    (_annotations_without_images, "needs --images"),
]


@pytest.mark.parametrize("make_case,message", BAD_INPUT, ids=[c[0].__name__.strip("_") for c in BAD_INPUT])
def test_bad_input_one_line_nothing_written(tmp_path, capsys, make_case, message):
    ann, imgs = _tiny_coco(tmp_path, n=4)
    args = make_case(tmp_path, ann, imgs)
    if "--out" not in args:
        args += ["--out", tmp_path / "out"]
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    code = _build(*args)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and "decoding" not in line]
    assert code != 0
    assert len(lines) == 1, err
    assert message in lines[0]
    assert "Traceback" not in err
    after = sorted(str(p) for p in tmp_path.rglob("*"))
    assert after == before  # no output folder, no leftover temporary folder


def test_failed_build_keeps_the_previous_dataset(tmp_path, capsys):
    ann, imgs = _tiny_coco(tmp_path, n=4)
    assert _build("--annotations", ann, "--images", imgs, "--out", tmp_path / "o", "--size", "32") == 0
    for p in imgs.iterdir():
        p.write_bytes(b"garbage")
    assert _build("--annotations", ann, "--images", imgs, "--out", tmp_path / "o", "--size", "48") != 0
    assert open_split(tmp_path / "o").size == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs", "instances.json", "o"]


def test_info_summarises_and_refuses_incomplete(tmp_path, capsys):
    ann, imgs = _tiny_coco(tmp_path, n=4)
    assert _build("--annotations", ann, "--images", imgs, "--out", tmp_path / "o", "--size", "32") == 0
    capsys.readouterr()
    assert main(["dataset", "info", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "4 images, 2 person / 2 notperson" in out and "32x32x1" in out
    assert main(["dataset", "info", str(tmp_path / "o"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[str(tmp_path / "o")]["count"] == 4
    (tmp_path / "o" / "images" / "shard-00000.npy").unlink()
    assert main(["dataset", "info", str(tmp_path / "o")]) != 0
    assert main(["dataset", "info", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert "not a complete vwwdeploy dataset split" in err and "neither a dataset split" in err
    assert "Traceback" not in err
