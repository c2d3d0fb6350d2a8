"""inspect_model on the upstream person detector, on a briefly trained int8 model, and on bad models."""

from __future__ import annotations

import json
import random

import pytest

from vwwdeploy.cli import main
from vwwdeploy.errors import UserError
from vwwdeploy.model import board, inspect_model
from vwwdeploy.model.flatbuf import ModelFormatError
from vwwdeploy.model.inspect import format_report
from vwwdeploy.model.schema import parse_model, read_model
from vwwdeploy.model.stats import mac_count, parameter_count
from vwwdeploy.model.writer import make_custom_op
from vwwdeploy.testing.tiny_models import tiny_model

UPSTREAM_OPS = {"AVERAGE_POOL_2D": 1, "CONV_2D": 14, "DEPTHWISE_CONV_2D": 14, "RESHAPE": 1, "SOFTMAX": 1}


def codes(report):
    return {p["code"] for p in report["problems"]}


@pytest.fixture(scope="module")
def upstream_report(upstream_model):
    return inspect_model(upstream_model)


def test_upstream_report(upstream_report):
    r = upstream_report
    assert r["size_bytes"] == 300_568
    assert r["ops"] == UPSTREAM_OPS
    assert r["inputs"][0]["shape"] == [1, 96, 96, 1] and r["inputs"][0]["dtype"] == "int8"
    assert r["inputs"][0]["zero_point"] == -1 and abs(r["inputs"][0]["scale"] - 2 / 255) < 1e-6
    assert r["outputs"][0]["shape"] == [1, 2] and r["outputs"][0]["zero_point"] == -128
    assert r["label_count"] == 2
    assert r["parameters"] == 210_708
    assert r["macs"] == 7_157_888
    # 85,264 B on x86-64 with tflite-micro 0.dev20261023 (the Cortex-M4 build needs 82,308 B); a
    # different runtime version may move it a little. The margin is 10 %, the total a multiple of 16.
    measured = r["arena"]["measured_bytes"]
    assert 80_000 < measured < 95_000
    assert r["arena"]["size_bytes"] == board.arena_size(measured)[1] and r["arena"]["size_bytes"] % 16 == 0
    assert r["board"]["fits"] is True
    assert r["loads"] == {
        "tflm": True,
        "tflm_error": None,
        "litert": False,
        "litert_error": "LiteRT refused the model: quantized_dimension must be in range [0, 1). Was 3.",
    }
    # LiteRT's refusal is a warning with the --fix hint; the board can still run the model.
    assert codes(r) == {"quantized_dimension", "litert_refuses"}
    assert all(p["severity"] == "warning" and "--fix" in p["hint"] for p in r["problems"])
    assert r["ok"] is True


def test_json_flag_prints_the_api_report(upstream_model, upstream_report, capsys):
    assert main(["inspect", str(upstream_model), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(upstream_report))


def test_text_report_names_the_essentials(upstream_report):
    out = format_report(upstream_report)
    measured = upstream_report["arena"]["measured_bytes"]
    for needle in (
        "CONV_2D x14",
        f"{measured:,} B measured",
        "SparkFun Edge: fits",
        "LiteRT: no",
        "210,708",
        "fix: `vwwdeploy",
    ):
        assert needle in out


def test_short_training_run_model_is_board_ready():
    path = tiny_model("int8")
    r = inspect_model(path)
    assert r["ok"] and r["problems"] == [], r["problems"]
    assert r["ops"] == {"AVERAGE_POOL_2D": 1, "CONV_2D": 3, "DEPTHWISE_CONV_2D": 1, "RESHAPE": 1, "SOFTMAX": 1}
    assert r["loads"]["tflm"] and r["loads"]["litert"]
    # Small arena: the 4 KiB floor of the margin applies.
    assert r["arena"]["margin_bytes"] >= board.DEFAULT_MARGIN_MIN_BYTES
    assert r["inputs"][0]["zero_point"] == -1


def test_macs_and_parameters_by_hand():
    m = read_model(tiny_model("int8"))
    # 3x3/2 conv 1->8 on 32x32, 3x3 depthwise on 16x16x8, 1x1 conv 8->16, 1x1 conv 16->2 after pooling
    assert mac_count(m) == 16 * 16 * 8 * 9 + 16 * 16 * 8 * 9 + 16 * 16 * 16 * 8 + 2 * 16
    weights_and_biases = (8 * 9 + 8) + (8 * 9 + 8) + (16 * 8 + 16) + (2 * 16 + 2)
    assert parameter_count(m) >= weights_and_biases  # plus the reshape's constant shape tensor
    assert parameter_count(m) - weights_and_biases <= 4


@pytest.mark.parametrize(
    "name, code",
    [
        ("float", "float_model"),
        ("degenerate", "degenerate_softmax"),
        ("big_flash", "too_big_flash"),
        ("big_ram", "too_big_ram"),
    ],
)
def test_bad_models_are_reported_with_hints(name, code):
    r = inspect_model(tiny_model(name))
    assert code in codes(r)
    assert not r["ok"]
    p = next(p for p in r["problems"] if p["code"] == code)
    assert p["severity"] == "error" and p["hint"]
    if code == "float_model":
        assert "vwwdeploy export" in p["hint"]
    if code == "degenerate_softmax":
        assert r["loads"]["tflm"] is False and "aborted" in p["message"]


def test_vela_custom_op_is_unsupported():
    data = make_custom_op(tiny_model("int8").read_bytes(), "SOFTMAX", "ethos-u")
    r = inspect_model(data)
    assert "CUSTOM:ethos-u" in r["ops"]
    p = next(p for p in r["problems"] if p["code"] == "unsupported_op")
    assert "Ethos-U" in p["hint"] and not r["ok"]


def test_firmware_budget_decides_the_fit(upstream_model):
    tight = inspect_model(upstream_model, firmware_budget_flash=900_000, firmware_budget_ram=350_000, run_litert=False)
    assert {"too_big_flash", "too_big_ram"} <= codes(tight) and tight["board"]["fits"] is False
    assert tight["board"]["flash_available"] == board.FLASH_BYTES - 900_000
    with pytest.raises(UserError):
        inspect_model(upstream_model, firmware_budget_ram=board.RAM_BYTES)


def test_arena_margin():
    assert board.arena_size(85_264) == (8_528, 93_792)
    assert board.arena_size(1_000) == (4_096 + 8, 5_104)  # floor, then rounded up to 16
    assert board.arena_size(85_264, "0%") == (0, 85_264)
    assert board.arena_size(100, "20%") == (28, 128)  # 120 rounded up to 128
    assert board.arena_size(100, 8192) == (8_204, 8_304)
    for bad in ("abc", "-5", "5000%", "10 %%"):
        with pytest.raises(UserError):
            board.parse_margin(bad)


def test_reader_never_fails_except_with_a_clear_error():
    """Truncated or bit-flipped models: the reader either parses or raises ModelFormatError."""
    data = tiny_model("int8").read_bytes()
    rng = random.Random(1)
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(1500):
        b = bytearray(data)
        if rng.random() < 0.3:
            b = b[: rng.randrange(len(b))]
        else:
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            m = parse_model(bytes(b))
            mac_count(m), parameter_count(m)
            outcomes["parsed"] += 1
        except ModelFormatError as exc:
            assert "\n" not in str(exc)
            outcomes["refused"] += 1
    assert outcomes["parsed"] and outcomes["refused"]


def test_model_beyond_the_measuring_arena_is_measured_not_refused(upstream_model, upstream_report, monkeypatch):
    """If the first measuring arena is too small, TFLM is asked again with a huge one."""
    from vwwdeploy.model import runtimes

    real_init = runtimes.TflmTwin.__init__
    sizes = []

    def small_first(self, model, arena_size=None):
        sizes.append(arena_size)
        real_init(self, model, arena_size=arena_size or 20_000)

    monkeypatch.setattr(runtimes.TflmTwin, "__init__", small_first)
    result = runtimes.tflm_probe(upstream_model.read_bytes())
    assert result.loaded and result.arena_used == upstream_report["arena"]["measured_bytes"]
    assert sizes == [None, runtimes.LARGE_ARENA]


def _with_input_quantization(scale: float, zero_point: int) -> dict:
    from vwwdeploy.model.writer import edit_model

    def requantize(m):
        q = m.subgraphs[0].tensors[m.subgraphs[0].inputs[0]].quantization
        q.scale, q.zeroPoint = [scale], [zero_point]

    return inspect_model(edit_model(tiny_model("int8").read_bytes(), requantize), run_litert=False)


def test_input_scale_1_255_zero_point_minus_128_takes_the_camera_input():
    # int8 = round((pixel / 255) / (1/255)) - 128 = pixel - 128 exactly: the board's input, no warning.
    r = _with_input_quantization(1 / 255, -128)
    assert [p for p in r["problems"] if p["code"] == "input_quantization"] == []


@pytest.mark.parametrize("scale,zero_point", [(1 / 255, 0), (2 / 255, 20), (1 / 127.5 / 4, -1)])
def test_input_convention_warnings(scale, zero_point):
    r = _with_input_quantization(scale, zero_point)
    p = next(p for p in r["problems"] if p["code"] == "input_quantization")
    assert p["severity"] == "warning" and "pixel - 128" in p["message"] and r["ok"]


@pytest.mark.parametrize("factor", [0.999, 1.001])
def test_softmax_scale_check_matches_where_tflm_aborts(factor):
    """The static check's threshold (scale * 2^26 <= 1) is exactly where TFLM's softmax aborts."""
    from vwwdeploy.model.writer import edit_model

    data = tiny_model("int8").read_bytes()
    m = read_model(data)
    sg = m.subgraphs[0]
    softmax_input = next(op for op in sg.operators if m.op_name(op) == "SOFTMAX").inputs[0]

    def set_scale(mt):
        mt.subgraphs[0].tensors[softmax_input].quantization.scale = [factor / (1 << 26)]

    r = inspect_model(edit_model(data, set_scale), run_litert=False)
    flagged = "degenerate_softmax" in codes(r)
    assert flagged == (factor < 1)
    assert r["loads"]["tflm"] == (factor > 1)


def test_command_modules_import_only_the_standard_library():
    import subprocess
    import sys

    code = (
        "import sys, vwwdeploy.commands.inspect, vwwdeploy.commands.codegen; "
        "print(sorted(m for m in ('numpy', 'tensorflow', 'tflite_micro', 'ai_edge_litert') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
