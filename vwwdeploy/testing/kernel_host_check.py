"""Bit-exactness of the generated kernels on the host: g++ builds them (portable versions of the DSP
instructions, vww_kernel_lib.h) with a driver (firmware/kernels/tests/host_check_main.cc) that runs
each specialised layer and TFLM's reference kernel on the same inputs (all -128, all 127, all at the
input zero point, then random) and compares every output byte, and compares the generator's
multipliers and shifts with TFLM's QuantizeMultiplier."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vwwdeploy.errors import UserError
from vwwdeploy.model.kernels.generate import generate_kernels, quantize_multiplier

REPO = Path(__file__).resolve().parents[2]
KERNELS_DIR = REPO / "firmware" / "kernels"
DRIVER = KERNELS_DIR / "tests" / "host_check_main.cc"
TFLM_SOURCES = ("tensorflow/lite/kernels/internal/quantization_util.cc", "tensorflow/lite/kernels/internal/common.cc")
_LINE = re.compile(r"^layer (\d+) trials (\d+) mismatches (\d+) quant_mismatches (\d+)$")


@dataclass
class LayerCheck:
    op_index: int
    trials: int
    mismatches: int
    quant_mismatches: int


def _array(ctype: str, name: str, values) -> str:
    return f"const {ctype} {name}[] = {{{', '.join(str(v) for v in values)}}};\n"


def layers_header(decisions) -> str:
    out = ['#include <cstdint>\n#include "vww_kernels.h"\n', "struct RefLayer {\n"]
    out.append(
        "  int op_index, filter_tensor, depthwise, ih, iw, ic, oh, ow, oc, kh, kw, stride, same_padding,"
        " depth_multiplier;\n  int input_zero_point, output_zero_point, act_min, act_max;\n"
        "  float input_scale, output_scale;\n  const float* filter_scales;\n  const int8_t* filter;\n"
        "  const int32_t* bias;\n  const int32_t* generated_multiplier;\n  const int32_t* generated_shift;\n};\n"
    )
    from vwwdeploy.model.kernels.generate import activation_range

    rows = []
    for d in decisions:
        if not d.kernel:
            continue
        layer, n = d.layer, d.layer.index
        inp, flt, bias, o = layer.inputs[0], layer.inputs[1], layer.inputs[2], layer.outputs[0]
        oc = o.shape[3]
        scales = flt.scale if len(flt.scale) == oc else np.repeat(flt.scale, oc)
        q = [quantize_multiplier(float(inp.scale[0]) * float(s) / float(o.scale[0])) for s in scales]
        act_min, act_max = activation_range(layer.activation, o.scale[0], int(o.zero_point[0]))
        out.append(_array("float", f"kScales{n}", [f"{float(s)!r}f" for s in scales]))
        out.append(_array("int8_t", f"kFilter{n}", flt.data.reshape(-1).tolist()))
        out.append(_array("int32_t", f"kBias{n}", bias.data.reshape(-1).tolist()))
        out.append(_array("int32_t", f"kMult{n}", [m for m, _ in q]))
        out.append(_array("int32_t", f"kShift{n}", [s for _, s in q]))
        depthwise = int(layer.op == "DEPTHWISE_CONV_2D")
        rows.append(
            f"  {{{n}, {flt.index}, {depthwise}, {inp.shape[1]}, {inp.shape[2]}, {inp.shape[3]}, {o.shape[1]}, "
            f"{o.shape[2]}, {oc}, {flt.shape[1]}, {flt.shape[2]}, {layer.stride[0]}, "
            f"{int(layer.padding == 'SAME')}, {max(layer.depth_multiplier, 1)}, {int(inp.zero_point[0])}, "
            f"{int(o.zero_point[0])}, {act_min}, {act_max}, {float(inp.scale[0])!r}f, {float(o.scale[0])!r}f, "
            f"kScales{n}, kFilter{n}, kBias{n}, kMult{n}, kShift{n}}},"
        )
    out.append("const RefLayer kRefLayers[] = {\n" + "\n".join(rows) + "\n};\n")
    out.append(f"const int kRefLayerCount = {len(rows)};\n")
    return "".join(out)


def check_on_host(model: str | Path, tflm_tree: Path, work: Path, trials: int = 8) -> list[LayerCheck]:
    """Generate, build with g++ and run the check; returns one LayerCheck per specialised layer."""
    if shutil.which("g++") is None:
        raise UserError("g++ not found: the host check builds the kernels with the host compiler")
    work.mkdir(parents=True, exist_ok=True)
    decisions = generate_kernels(model, work)
    (work / "host_check_layers.h").write_text(layers_header(decisions))
    return build_and_run(work, tflm_tree, trials)


def build_and_run(work: Path, tflm_tree: Path, trials: int = 8) -> list[LayerCheck]:
    """Build the kernels and check header already in `work` (check_on_host writes them) and run the check."""
    exe = work / "host_check"
    includes = [
        work,
        KERNELS_DIR,
        tflm_tree,
        tflm_tree / "third_party/gemmlowp",
        tflm_tree / "third_party/flatbuffers/include",
    ]
    cmd = ["g++", "-std=c++17", "-O2", "-DVWW_KERNELS_NO_TFLM", "-DTF_LITE_STATIC_MEMORY"]
    cmd += [f"-I{p}" for p in includes]
    cmd += [str(DRIVER), str(work / "vww_generated_kernels.cc"), *(str(tflm_tree / s) for s in TFLM_SOURCES)]
    cmd += ["-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise UserError(f"host build of the generated kernels failed: {(proc.stderr.strip().splitlines() or ['?'])[0]}")
    run = subprocess.run([str(exe), str(trials)], capture_output=True, text=True)
    checks = [LayerCheck(*map(int, m.groups())) for m in map(_LINE.match, run.stdout.splitlines()) if m]
    if run.returncode not in (0, 1) or not checks:
        raise UserError(f"host check did not run: {run.stdout[-200:]} {run.stderr[-200:]}")
    return checks
