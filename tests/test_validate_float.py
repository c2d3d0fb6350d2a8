"""validate --checkpoint with a real train dir (config.json + checkpoint, as `vwwdeploy train` writes them):
the Keras float model runs in the host thread on the dequantized inputs and lands in the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_validate_runner import fake_boards, small_csv  # noqa: F401  (fixtures)

from vwwdeploy.apps.validation.runner import validate


def _train_dir(path: Path) -> Path:
    """A step-0 checkpoint of the default MobileNetV1-0.25 96x96 gray: untrained, but real in every format."""
    from vwwdeploy.training.checkpoint import save_checkpoint
    from vwwdeploy.training.config import TrainConfig
    from vwwdeploy.training.model import build_mobilenet_v1

    config = TrainConfig()
    path.mkdir()
    config.save(path)
    model = build_mobilenet_v1(config.width, config.image_size, config.channels, config.num_classes, weight_decay=0.0)
    save_checkpoint(path, 0, model.weights, [], model.weights)
    return path


@pytest.mark.slow  # importing TensorFlow and tracing the model: ~35 s on the shared 2-core machine
def test_float_model_from_a_train_dir(fake_boards, small_csv, upstream_model, tmp_path):  # noqa: F811
    train = _train_dir(tmp_path / "train")
    report = validate(
        ["fake://a"],
        upstream_model,
        small_csv,
        tmp_path / "rep",
        checkpoint=train,
        show_progress=False,
        device_factory=fake_boards,
    )
    flt = report["paths"]["float"]
    assert flt["available"] is True, flt
    assert 0.0 <= flt["accuracy"] <= 1.0 and sum(map(sum, flt["confusion_matrix"])) == 8
    cm = report["cross_metrics"]["device_vs_float"]
    assert cm["available"] and np.isfinite(cm["rmse"]) and -1 <= cm["cosine"] <= 1
    rows = (tmp_path / "rep" / "results.csv").read_text().splitlines()
    assert "float_scores" in rows[0] and len(rows) == 9
    assert json.loads((tmp_path / "rep" / "report.json").read_text())["paths"]["float"]["available"] is True
