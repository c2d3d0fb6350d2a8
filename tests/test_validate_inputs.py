"""validate's input preparation: both sources give the int8 the device pipeline / eval preprocessing gives."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vwwdeploy.apps.validation.inputs import load_inputs, read_labels_csv
from vwwdeploy.errors import UserError
from vwwdeploy.link.protocol.pipeline import (
    camera_input,
    crop_box_average,
    crop_decimate,
    frame_from_image,
    to_model_input,
)


def _pictures(folder, n=3):
    rng = np.random.default_rng(1)
    paths = []
    for i in range(n):
        arr = rng.integers(0, 256, (120 + 10 * i, 160, 3), dtype=np.uint8)
        p = folder / f"pic{i}.png"
        Image.fromarray(arr).save(p)
        paths.append(p)
    return paths


def test_csv_images_go_through_the_camera_pipeline(tmp_path):
    pics = _pictures(tmp_path)
    (tmp_path / "sub").mkdir()
    csv = tmp_path / "sub" / "labels.csv"
    # relative paths are relative to the CSV's folder; absolute ones as they are; extra columns ignored
    csv.write_text("file,label,note\n../pic0.png,1,x\n" + f"{pics[1]},0,y\n../pic2.png,1,z\n")
    inputs = load_inputs(csv, (1, 96, 96, 1), num_classes=2)
    assert inputs.source == "csv" and inputs.labels.tolist() == [1, 0, 1]
    for i, p in enumerate(pics):
        with Image.open(p) as img:
            expected = to_model_input(crop_decimate(frame_from_image(img)))
        assert np.array_equal(inputs.int8[i, :, :, 0], expected)
    boxed = load_inputs(csv, (96, 96, 1), limit=1, pipeline_mode=1)
    with Image.open(pics[0]) as img:
        assert np.array_equal(boxed.pixels[0, :, :, 0], crop_box_average(frame_from_image(img)))
    assert len(boxed) == 1 and boxed.total_available == 3 and "box" in boxed.preprocessing
    assert "decimation" in inputs.preprocessing and "box" not in inputs.preprocessing


@pytest.mark.parametrize(
    "shape, scale, zero_point, mode",
    [
        ((1, 128, 128, 1), 2 / 255, -1, 0),
        ((1, 80, 80, 3), 2 / 255, -1, 1),
        ((1, 64, 112, 1), 1 / 255, -128, 0),
        ((1, 80, 80, 3), 0.0123, 7, 1),  # neither convention's pixel - 128: the model's own table
    ],
)
def test_csv_images_take_the_models_shape_and_quantization(tmp_path, shape, scale, zero_point, mode):
    pics = _pictures(tmp_path, 2)
    csv = tmp_path / "labels.csv"
    csv.write_text("file,label\npic0.png,1\npic1.png,0\n")
    inputs = load_inputs(csv, shape, num_classes=2, pipeline_mode=mode, input_scale=scale, input_zero_point=zero_point)
    _, h, w, c = shape
    assert inputs.int8.shape == (2, h, w, c) and inputs.int8.dtype == np.int8
    assert f"{w}x{h}" in inputs.preprocessing
    for i, p in enumerate(pics):
        with Image.open(p) as img:
            want = camera_input(frame_from_image(img), h, w, c, scale, zero_point, mode)
        assert np.array_equal(inputs.int8[i], want)
    if scale == 0.0123:
        assert not np.array_equal(inputs.int8, to_model_input(inputs.pixels))


@pytest.mark.parametrize("shape", [(1, 16, 16, 1), (1, 96, 96, 2), (1, 96, 200, 1)])
def test_csv_refuses_a_shape_the_camera_cannot_make(tmp_path, shape):
    _pictures(tmp_path, 1)
    csv = tmp_path / "labels.csv"
    csv.write_text("file,label\npic0.png,1\n")
    with pytest.raises(UserError, match="camera pipeline") as info:
        load_inputs(csv, shape, num_classes=2)
    assert "\n" not in str(info.value) and "x".join(map(str, shape[1:])) in str(info.value)


def test_dataset_folder_uses_the_eval_preprocessing(tmp_path):
    from vwwdeploy.data.store import write_split
    from vwwdeploy.training.preprocess import eval_images

    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (5, 128, 128), dtype=np.uint8)
    write_split(
        tmp_path / "ds" / "val",
        images,
        [f"id{i}" for i in range(5)],
        [f"f{i}.jpg" for i in range(5)],
        [0, 1, 1, 0, 1],
        split="val",
    )
    inputs = load_inputs(tmp_path / "ds", (1, 96, 96, 1), limit=4)
    assert inputs.source == "dataset" and inputs.names == ["id0", "id1", "id2", "id3"]
    assert inputs.label_names == ["notperson", "person"]
    expected = eval_images(images[:4], image_size=96).reshape(4, 96, 96, 1)
    assert np.array_equal(inputs.pixels, expected)
    assert np.array_equal(inputs.int8.astype(int), expected.astype(int) - 128)
    with pytest.raises(UserError, match="3 channels"):
        load_inputs(tmp_path / "ds", (1, 96, 96, 3))


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "file,label"),
        ("path,class\na.png,1\n", "file,label"),
        ("file,label\n", "no rows"),
        ("file,label\npic0.png,person\n", "not a class index"),
        ("file,label\npic0.png,-1\n", "negative"),
        ("file,label\nmissing.png,1\n", "no such image"),
        ("file,label\nlabels.csv,1\n", "not a readable image"),
        ("file,label\npic0.png,5\n", "out of range"),
    ],
)
def test_bad_csv_is_one_clear_line(tmp_path, text, match):
    _pictures(tmp_path, 1)
    csv = tmp_path / "labels.csv"
    csv.write_text(text)
    with pytest.raises(UserError, match=match) as info:
        load_inputs(csv, (1, 96, 96, 1), num_classes=2)
    assert "\n" not in str(info.value)


def test_csv_reader_rejects_binary(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(UserError):
        read_labels_csv(bad)
