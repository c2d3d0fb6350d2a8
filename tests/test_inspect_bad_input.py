"""Bad input for inspect, inspect --fix and codegen: one clear line, non-zero exit, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vwwdeploy.cli import main
from vwwdeploy.model.writer import edit_model, make_custom_op
from vwwdeploy.testing.tiny_models import tiny_model


def _planted_defect(data: bytes) -> bytes:
    def edit(m):
        for t in m.subgraphs[0].tensors:
            q = t.quantization
            if q is not None and q.scale is not None and len(t.shape) == 1 and len(q.scale) > 1:
                q.quantizedDimension = 3

    return edit_model(data, edit)


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad-input")
    good = tiny_model("int8").read_bytes()
    (d / "good.tflite").write_bytes(good)
    (d / "defect.tflite").write_bytes(_planted_defect(good))
    (d / "text.tflite").write_text("this is not a model\n" * 3)
    (d / "empty.tflite").write_bytes(b"")
    (d / "truncated.tflite").write_bytes(good[: len(good) // 2])
    (d / "vela.tflite").write_bytes(make_custom_op(good, "SOFTMAX", "ethos-u"))
    for name in ("float", "degenerate", "big_flash", "big_ram"):
        shutil.copy(tiny_model(name), d / f"{name}.tflite")
    (d / "adir").mkdir()
    (d / "ds").mkdir()
    (d / "ds" / "dataset.json").write_text(json.dumps({"split": "val"}))
    (d / "coco" / "train").mkdir(parents=True)
    (d / "coco" / "train" / "dataset.json").write_text(json.dumps({"split": "train"}))
    (d / "inplace").mkdir()
    (d / "inplace" / "model_data.cc").write_bytes(good)
    return d


CASES = [
    # (id, argv with {ws} placeholders, expected words in the one-line message)
    ("inspect-missing", ["inspect", "{ws}/nope.tflite"], "no such file"),
    ("inspect-directory", ["inspect", "{ws}/adir"], "is a directory"),
    ("inspect-text", ["inspect", "{ws}/text.tflite"], "not a .tflite model"),
    ("inspect-empty", ["inspect", "{ws}/empty.tflite"], "too short"),
    ("inspect-truncated", ["inspect", "{ws}/truncated.tflite"], "truncated or corrupt"),
    ("inspect-float", ["inspect", "{ws}/float.tflite"], "vwwdeploy export"),
    ("inspect-vela", ["inspect", "{ws}/vela.tflite"], "Ethos-U"),
    ("inspect-too-big-flash", ["inspect", "{ws}/big_flash.tflite"], "of flash left"),
    ("inspect-too-big-ram", ["inspect", "{ws}/big_ram.tflite"], "of RAM left"),
    ("inspect-degenerate", ["inspect", "{ws}/degenerate.tflite"], "softmax"),
    ("inspect-bad-budget", ["inspect", "{ws}/good.tflite", "--firmware-budget-flash", "lots"], "byte count"),
    ("inspect-budget-too-large", ["inspect", "{ws}/good.tflite", "--firmware-budget-ram", "999999"], "between 0 and"),
    ("inspect-bad-margin", ["inspect", "{ws}/good.tflite", "--arena-margin", "much"], "--arena-margin"),
    ("inspect-no-model", ["inspect"], "give a MODEL"),
    (
        "inspect-model-and-fix",
        ["inspect", "{ws}/good.tflite", "--fix", "{ws}/defect.tflite", "{ws}/o.tflite"],
        "not both",
    ),
    ("fix-over-input", ["inspect", "--fix", "{ws}/defect.tflite", "{ws}/defect.tflite"], "overwrite the input"),
    ("fix-into-split-folder", ["inspect", "--fix", "{ws}/defect.tflite", "{ws}/ds/fixed.tflite"], "dataset folder"),
    ("fix-into-dataset-folder", ["inspect", "--fix", "{ws}/defect.tflite", "{ws}/coco/fixed.tflite"], "dataset folder"),
    ("fix-out-is-directory", ["inspect", "--fix", "{ws}/defect.tflite", "{ws}/adir"], "is a directory"),
    ("fix-not-a-model", ["inspect", "--fix", "{ws}/text.tflite", "{ws}/o.tflite"], "not a .tflite model"),
    ("fix-nothing-to-fix", ["inspect", "--fix", "{ws}/good.tflite", "{ws}/o.tflite"], "nothing written"),
    ("codegen-missing", ["codegen", "{ws}/nope.tflite", "--out", "{ws}/gen"], "no such file"),
    ("codegen-text", ["codegen", "{ws}/text.tflite", "--out", "{ws}/gen"], "not a .tflite model"),
    ("codegen-float", ["codegen", "{ws}/float.tflite", "--out", "{ws}/gen"], "vwwdeploy export"),
    ("codegen-vela", ["codegen", "{ws}/vela.tflite", "--out", "{ws}/gen"], "Ethos-U"),
    ("codegen-too-big", ["codegen", "{ws}/big_flash.tflite", "--out", "{ws}/gen"], "does not fit"),
    ("codegen-degenerate", ["codegen", "{ws}/degenerate.tflite", "--out", "{ws}/gen"], "softmax"),
    ("codegen-out-is-input", ["codegen", "{ws}/good.tflite", "--out", "{ws}/good.tflite"], "input model itself"),
    ("codegen-over-input", ["codegen", "{ws}/inplace/model_data.cc", "--out", "{ws}/inplace"], "overwrite the input"),
    ("codegen-into-split-folder", ["codegen", "{ws}/good.tflite", "--out", "{ws}/ds"], "dataset folder"),
    ("codegen-under-dataset", ["codegen", "{ws}/good.tflite", "--out", "{ws}/coco/gen"], "dataset folder"),
    ("codegen-label-count", ["codegen", "{ws}/good.tflite", "--out", "{ws}/gen", "--labels", "a,b,c"], "2 classes"),
    ("codegen-label-chars", ["codegen", "{ws}/good.tflite", "--out", "{ws}/gen", "--labels", 'a"b,c'], "label"),
    (
        "codegen-bad-margin",
        ["codegen", "{ws}/good.tflite", "--out", "{ws}/gen", "--arena-margin", "-3"],
        "--arena-margin",
    ),
    ("codegen-raw-labels", ["codegen", "{ws}/good.tflite", "--raw", "--out", "{ws}/gen", "--labels", "a,b"], "--raw"),
    ("codegen-raw-empty", ["codegen", "{ws}/empty.tflite", "--raw", "--out", "{ws}/gen"], "empty"),
]


def test_sim_refuses_a_damaged_model_with_inspects_sentence(ws, capsys):
    for name in ("truncated", "text", "empty"):
        model = ws / f"{name}.tflite"
        assert main(["inspect", str(model)]) == 2
        inspect_says = capsys.readouterr().err.strip().removeprefix("vwwdeploy inspect: error: ")
        assert main(["sim", "--model", str(model)]) == 2
        sim_says = capsys.readouterr().err.strip().removeprefix("vwwdeploy sim: error: ")
        assert sim_says == inspect_says and "\n" not in sim_says


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("argv, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_writes_nothing(ws, argv, expected, capsys):
    before = _snapshot(ws)
    rc = main([a.format(ws=ws) for a in argv])
    err = capsys.readouterr().err.strip()
    assert rc != 0
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith(f"vwwdeploy {argv[0]}: error: ")
    assert expected in err
    assert _snapshot(ws) == before
