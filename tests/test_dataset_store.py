"""The split store: what the writer puts down, the reader gives back, and incomplete folders are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vwwdeploy.data.store import label_names_for, open_split, resolve_split, write_split
from vwwdeploy.errors import UserError


def _images(n, size=8, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, size, size) if channels == 1 else (n, size, size, channels)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def _write(path, n=10, channels=1, shard_size=4, **kw):
    imgs = _images(n, channels=channels)
    ids = [str(100 + i) for i in range(n)]
    files = [f"imgs/{i}.jpg" for i in ids]
    labels = [i % 3 == 0 for i in range(n)]
    write_split(path, imgs, ids, files, labels, shard_size=shard_size, **kw)
    return imgs, ids, files, np.array(labels, dtype=np.int64)


@pytest.mark.parametrize("channels", [1, 3])
def test_round_trip_across_shards(tmp_path, channels):
    imgs, ids, files, labels = _write(tmp_path / "s", n=10, channels=channels, shard_size=4)
    split = open_split(tmp_path / "s")
    assert len(split) == 10
    assert split.image_ids == ids and split.files == files
    assert split.labels.dtype == np.int64 and (split.labels == labels).all()
    assert split.size == 8 and split.channels == channels
    assert split.label_names == ["notperson", "person"] and split.categories == ["person"]
    assert split.synthetic is False
    assert len(split.manifest["shards"]) == 3  # 4 + 4 + 2
    np.testing.assert_array_equal(split.images(), imgs)
    idx = np.array([9, 0, 4, 3, 4, -1])
    np.testing.assert_array_equal(split.images(idx), imgs[idx])
    assert split.images([]).shape == (0, *imgs.shape[1:])
    with pytest.raises(IndexError):
        split.images([10])


def test_labels_csv_columns_exact(tmp_path):
    _write(tmp_path / "s", n=3)
    lines = (tmp_path / "s" / "labels.csv").read_text().splitlines()
    assert lines[0] == "image_id,file,label"
    assert lines[1] == "100,imgs/100.jpg,1"


def test_label_names_generic():
    assert label_names_for(["car"]) == ["notcar", "car"]
    assert label_names_for(["person", "car"]) == ["notperson+car", "person+car"]


def test_synthetic_flag_and_resolve(tmp_path):
    _write(tmp_path / "d" / "train", synthetic=True)
    _write(tmp_path / "d" / "val")
    assert resolve_split(tmp_path / "d", "train") == tmp_path / "d" / "train"
    assert resolve_split(tmp_path / "d", "val") == tmp_path / "d" / "val"
    assert resolve_split(tmp_path / "d" / "val", "train") == tmp_path / "d" / "val"
    assert open_split(tmp_path / "d" / "train").synthetic is True
    with pytest.raises(UserError):
        resolve_split(tmp_path / "nowhere", "train")
    with pytest.raises(UserError):
        resolve_split(tmp_path / "d" / "train" / "images", "val")


def _drop_manifest(p):
    (p / "dataset.json").unlink()


def _drop_shard(p):
    (p / "images" / "shard-00001.npy").unlink()


def _truncate_labels(p):
    lines = (p / "labels.csv").read_text().splitlines()
    (p / "labels.csv").write_text("\n".join(lines[:-1]) + "\n")


def _bad_manifest(p):
    (p / "dataset.json").write_text("{not json")


def _future_version(p):
    m = json.loads((p / "dataset.json").read_text())
    m["format_version"] = 99
    (p / "dataset.json").write_text(json.dumps(m))


def _wrong_shard_shape(p):
    np.save(p / "images" / "shard-00000.npy", np.zeros((4, 9, 9), np.uint8))


@pytest.mark.parametrize(
    "damage", [_drop_manifest, _drop_shard, _truncate_labels, _bad_manifest, _future_version, _wrong_shard_shape]
)
def test_incomplete_split_is_refused(tmp_path, damage):
    _write(tmp_path / "s")
    damage(tmp_path / "s")
    with pytest.raises(UserError) as exc:
        open_split(tmp_path / "s")
    assert "\n" not in str(exc.value)
