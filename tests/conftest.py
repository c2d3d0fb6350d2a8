"""Shared fixtures: where the real test data lives, and skips with a reason where it does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("VWWDEPLOY_SHARED_DATA", REPO.parent / "shared" / "data"))
VECTORS = REPO / "tests" / "vectors"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs the shared test data at {path} (absent on a fresh clone; set VWWDEPLOY_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return _need(SHARED_DATA)


@pytest.fixture(scope="session")
def upstream_model(shared_data) -> Path:
    """The upstream TFLM person detector (int8, 96x96x1, 300,568 bytes)."""
    return _need(shared_data / "tflm_person_detection" / "person_detect.tflite")


@pytest.fixture(scope="session")
def upstream_test_images(shared_data) -> dict[str, Path]:
    """The two upstream test images as plain uint8 PNGs, with their expected TFLM scores."""
    derived = _need(shared_data / "tflm_person_detection" / "derived")
    return {"person": derived / "person_uint8.png", "no_person": derived / "no_person_uint8.png"}


UPSTREAM_EXPECTED_SCORES = {"person": [-113, 113], "no_person": [77, -77]}


@pytest.fixture(scope="session")
def coco128(shared_data) -> Path:
    """128 real COCO train2017 images with instances JSON and person_presence.csv."""
    return _need(shared_data / "coco128_train2017")


@pytest.fixture(scope="session")
def coco_csv(coco128, tmp_path_factory) -> Path:
    """labels.csv (`file,label`) of the 128 shared COCO images from person_presence.csv's vww_label (50 positive)."""
    import csv

    out = tmp_path_factory.mktemp("coco") / "labels.csv"
    with open(coco128 / "person_presence.csv", newline="") as fh:
        rows = [(coco128 / "images" / f"{r['stem']}.jpg", int(r["vww_label"])) for r in csv.DictReader(fh)]
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "label"])
        w.writerows(rows)
    return out


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty user cache, and no VWWDEPLOY_<DEP>_DIR override: dependency lookups start from nothing."""
    from vwwdeploy.firmware import deps

    c = tmp_path / "cache"
    monkeypatch.setenv("VWWDEPLOY_CACHE", str(c))
    for dep in deps.DEPS:
        monkeypatch.delenv(dep.env_var, raising=False)
    return c
