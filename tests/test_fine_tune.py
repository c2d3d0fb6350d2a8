"""`train --init-from`: fine-tuning recipe, bad input, and the CLI end to end on the simulated board."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from vwwdeploy.cli import main
from vwwdeploy.training.export import EXPECTED_OPS


def _coco_folders(coco128, root):
    """coco128 as a user's folder set: person/ and notperson/ holding links to the pictures."""
    with open(coco128 / "person_presence.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            folder = root / ("person" if row["vww_label"] == "1" else "notperson")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{row['stem']}.jpg").symlink_to(coco128 / "images" / f"{row['stem']}.jpg")
    return root


def _errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if " error: " in line]


@pytest.mark.slow
def test_folder_fine_tune_end_to_end_on_the_simulated_board(upstream_model, coco128, tmp_path, capsys):
    from vwwdeploy.model.schema import read_model
    from vwwdeploy.virtual_boards.sim import start_sim_in_thread

    folders = _coco_folders(coco128, tmp_path / "pictures")
    ds, run, model = tmp_path / "ds", tmp_path / "run", tmp_path / "tuned.tflite"
    assert main(["dataset", "build", "--folders", str(folders), "--out", str(ds), "--workers", "1"]) == 0
    args = ["--dataset", str(ds), "--train-dir", str(run), "--max-steps", "4", "--batch-size", "8"]
    rc = main(["train", "--init-from", str(upstream_model), *args, "--head-steps", "2", "--eval-every-steps", "2"])
    assert rc == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "step 0 (start point): val accuracy" in out and "all layers at lr 0.001" in out
    record = json.loads((run / "fine_tune.json").read_text())
    assert [h["step"] for h in record["history"]] == [0, 2, 4]
    assert record["best_val_accuracy"] == max(h["val_accuracy"] for h in record["history"])
    assert record["best_val_accuracy"] >= record["start_val_accuracy"]

    assert main(["evaluate", "--checkpoint", str(run), "--dataset", str(ds)]) == 0
    accuracy = float(capsys.readouterr().out.split("eval/Accuracy[")[1].split("]")[0])
    assert accuracy == pytest.approx(record["best_val_accuracy"], abs=1e-4)

    assert main(["export", "--checkpoint", str(run), "--dataset", str(ds), "--out", str(model)]) == 0
    tfl = read_model(model)
    assert sorted({tfl.op_name(op) for op in tfl.subgraphs[0].operators}) == sorted(EXPECTED_OPS)
    # The project's own export imports back, layer by layer within one output step.
    assert main(["import", str(model), "--out", str(tmp_path / "reimported")]) == 0
    reimported = json.loads((tmp_path / "reimported" / "import.json").read_text())
    assert reimported["agreement"]["max_layer_difference_steps"] <= 1.0

    url, stop = start_sim_in_thread(model)
    try:
        for name, extra in (("plain", []), ("camera", ["--camera-like", "3"])):
            validate = ["validate", "--port", url, "--model", str(model), "--data", str(ds), "--limit", "16"]
            rc = main([*validate, "--report", str(tmp_path / name), *extra])
            assert rc == 0, capsys.readouterr().err
    finally:
        stop()
    plain = json.loads((tmp_path / "plain" / "report.json").read_text())
    camera = json.loads((tmp_path / "camera" / "report.json").read_text())
    for report in (plain, camera):
        assert report["data"]["count"] == 16
        assert report["device_vs_twin"]["bit_exact_rate"] == 1.0
    assert "camera-like" in camera["data"]["preprocessing"] and "camera-like" not in plain["data"]["preprocessing"]


def _train_dir(path, channels: int = 1, labels=("notperson", "person")):
    """A 32x32 MobileNetV1 train dir with trained-looking weights (no TFLite round trip: quick)."""
    import keras
    from mobilenet_models import calibration, randomize_batch_norm

    from vwwdeploy.training.checkpoint import save_checkpoint
    from vwwdeploy.training.config import TrainConfig
    from vwwdeploy.training.model import build_mobilenet_v1

    keras.utils.set_random_seed(1)
    model = build_mobilenet_v1(0.25, 32, channels, len(labels), weight_decay=0.0)
    randomize_batch_norm(model, calibration(32, channels, n=32))
    path.mkdir()
    TrainConfig(image_size=32, channels=channels, num_classes=len(labels), label_names=list(labels)).save(path)
    save_checkpoint(path, 0, model.weights, [], model.weights)
    return path


def _folder_dataset(tmp_path, name, classes, rgb=False):
    from test_dataset_folders import _folders

    src = _folders(tmp_path / f"{name}-pictures", {c: 6 for c in classes})
    out = tmp_path / name
    args = ["dataset", "build", "--folders", str(src), "--out", str(out), "--size", "40", "--workers", "1"]
    if list(classes) != ["notperson", "person"]:
        args += ["--classes", ",".join(classes)]
    assert main(args + (["--rgb"] if rgb else [])) == 0
    return out


@pytest.mark.slow
def test_head_phase_freezes_the_backbone_then_all_layers_move(tmp_path):
    from vwwdeploy.data.store import open_split
    from vwwdeploy.training.checkpoint import load_float_model
    from vwwdeploy.training.config import TrainConfig
    from vwwdeploy.training.fine_tune import FineTuner
    from vwwdeploy.training.pipeline import train_dataset

    source, _ = load_float_model(_train_dir(tmp_path / "src"))
    split = open_split(_folder_dataset(tmp_path, "ds", ["notperson", "person"]) / "train")
    config = TrainConfig(image_size=32, batch_size=4, learning_rate=0.05)
    tuner = FineTuner(config, backbone_lr_factor=0.1)
    tuner.load_weights(source, new_head=False)
    snapshot = {w.path: w.numpy().copy() for w in tuner.model.weights}

    batches = iter(train_dataset(split, 4, 0, 32, 0, 4))
    for _ in range(2):
        tuner.head_step(*next(batches))
    after_head = {w.path: w.numpy().copy() for w in tuner.model.weights}
    changed = [p for p in snapshot if not np.array_equal(snapshot[p], after_head[p])]
    assert changed and all(p.startswith("logits/") for p in changed), changed
    tuner.all_step(*next(batches))
    after_all = {w.path: w.numpy().copy() for w in tuner.model.weights}
    changed = [p for p in snapshot if not np.array_equal(after_head[p], after_all[p])]
    assert any(p.startswith("conv_0/") for p in changed) and any("pointwise/" in p for p in changed)
    assert not [p for p in changed if "_bn/" in p]  # batch norm stays as imported (inference mode)
    # EMA shadows follow the weights
    assert not np.array_equal(tuner.ema[0].numpy(), snapshot[tuner.model.weights[0].path])


@pytest.mark.slow
def test_new_head_for_other_classes(tmp_path, capsys):
    from vwwdeploy.training.checkpoint import load_float_model

    source = _train_dir(tmp_path / "src")
    ds = _folder_dataset(tmp_path, "pets", ["bird", "cat", "dog"])
    run = tmp_path / "run"
    base = ["train", "--init-from", str(source), "--dataset", str(ds), "--train-dir", str(run)]
    small = ["--max-steps", "2", "--batch-size", "4", "--eval-every-steps", "1"]
    assert main(base + small) == 2
    lines = _errors(capsys)
    assert len(lines) == 1 and "add --new-head" in lines[0] and "['bird', 'cat', 'dog']" in lines[0]
    assert not run.exists()
    assert main(base + small + ["--new-head"]) == 0
    out = capsys.readouterr().out
    assert "new head" in out and "step 0 (start point)" not in out
    model, config = load_float_model(run)
    assert config.label_names == ["bird", "cat", "dog"] and model.output_shape[-1] == 3
    src_model, _ = load_float_model(source)
    assert src_model.get_layer("logits").kernel.shape[-1] == 2


def test_fine_tune_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    gray_ds = _folder_dataset(tmp_path, "gray", ["notperson", "person"])
    rgb_source = _train_dir(tmp_path / "rgb", channels=3)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    cases = [
        (["--init-from", str(rgb_source)], "is a RGB model but", "run1"),
        (["--init-from", str(tmp_path / "nothing")], "no such train dir or .tflite file", "run2"),
        (["--init-from", str(_train_dir(tmp_path / "ok")), "--head-steps", "9"], "--head-steps must be", "run3"),
        (["--init-from", str(tmp_path / "ok")], "is not empty", "busy"),
    ]
    one_split = ["train", "--dataset", str(gray_ds / "train"), "--train-dir", str(tmp_path / "run5")]
    assert main([*one_split, "--init-from", str(tmp_path / "ok")]) == 2
    assert "needs a dataset folder with train/ and val/" in _errors(capsys)[0]
    for extra, message, run in cases:
        args = ["train", "--dataset", str(gray_ds), "--train-dir", str(tmp_path / run), "--max-steps", "2"]
        assert main(args + extra) == 2, extra
        lines = _errors(capsys)
        assert len(lines) == 1 and message in lines[0], (extra, lines)
        assert run == "busy" or not (tmp_path / run).exists()
    assert [p.name for p in busy.iterdir()] == ["x"]
