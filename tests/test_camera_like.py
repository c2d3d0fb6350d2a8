"""The seeded camera-like transform, alone and through `dataset build`."""

from __future__ import annotations

import numpy as np
from test_dataset_folders import _build, _folders

from vwwdeploy.data.camera_like import camera_like
from vwwdeploy.data.store import open_split


def _scene(n: int = 4, size: int = 48) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    base = ((xx // 8 + yy // 8) % 2 * 160 + 60).astype(np.uint8)  # sharp checkerboard, mid grey
    return np.stack([base] * n)


def test_seeded_per_picture_and_independent_of_batching():
    pictures = _scene()
    a = camera_like(pictures, seed=5)
    assert np.array_equal(a, camera_like(pictures, seed=5))
    assert not np.array_equal(a, camera_like(pictures, seed=6))
    assert np.array_equal(a[2:], camera_like(pictures[2:], seed=5, first_index=2))
    assert not np.array_equal(a[0], a[1])  # each picture its own draw


def test_darker_blurred_noisy_and_vignetted():
    pictures = _scene(8)
    out = camera_like(pictures, seed=1).astype(np.float32)
    src = pictures.astype(np.float32)
    assert out.mean() < 0.85 * src.mean()  # low light
    # blur: on vertical stripes (noise averaged away over rows), an edge no longer jumps in one pixel
    yy, xx = np.mgrid[0:48, 0:48]
    stripes = np.stack([((xx // 8) % 2 * 160 + 60).astype(np.uint8)] * 8)
    profile = camera_like(stripes, seed=1).astype(np.float32).mean(axis=1)  # [pictures, x]
    step = np.abs(profile[:, 24] - profile[:, 23])
    swing = np.abs(profile[:, 27] - profile[:, 20])
    assert (step / swing).mean() < 0.9
    # noise: a flat picture does not stay flat
    flat = camera_like(np.full((2, 48, 48), 128, np.uint8), seed=1).astype(np.float32)
    assert flat[:, 20:28, 20:28].std() > 0.5
    # vignetting: corners darker than the centre on a flat picture
    assert flat[:, :6, :6].mean() < flat[:, 21:27, 21:27].mean()


def test_rgb_keeps_its_shape():
    rgb = np.repeat(_scene(2)[..., None], 3, axis=3)
    out = camera_like(rgb, seed=0)
    assert out.shape == rgb.shape and out.dtype == np.uint8


def test_dataset_build_stores_the_camera_like_view(tmp_path):
    src = _folders(tmp_path / "pics", {"person": 4, "notperson": 4})
    plain, camera, again = tmp_path / "plain", tmp_path / "camera", tmp_path / "again"
    assert _build("--folders", src, "--out", plain) == 0
    assert _build("--folders", src, "--out", camera, "--camera-like", "7") == 0
    assert _build("--folders", src, "--out", again, "--camera-like", "7") == 0
    p, c = open_split(plain / "train"), open_split(camera / "train")
    assert p.files == c.files
    assert c.images().mean() < p.images().mean()
    assert np.array_equal(c.images(), open_split(again / "train").images())
    assert c.manifest["report"]["camera_like_seed"] == 7


def test_validation_inputs_take_the_camera_like_look(tmp_path):
    from vwwdeploy.apps.validation.inputs import load_inputs

    src = _folders(tmp_path / "pics", {"person": 4, "notperson": 4})
    assert _build("--folders", src, "--out", tmp_path / "ds", "--size", "40") == 0
    plain = load_inputs(tmp_path / "ds", (1, 32, 32, 1))
    camera = load_inputs(tmp_path / "ds", (1, 32, 32, 1), camera_like_seed=2)
    assert np.array_equal(camera.pixels, camera_like(plain.pixels, 2))
    assert "camera-like" in camera.preprocessing and "seed 2" in camera.preprocessing
