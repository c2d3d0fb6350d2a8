"""Which TFLM kernel sources a model needs, from the ops its generated resolver registers.

The firmware registers exactly the model's ops (`VWWDEPLOY_ADD_OPS` in model_settings.h), so the
other ~100 kernel files of TFLM could never be called; the linker would drop them anyway
(--gc-sections), but compiling them costs minutes per build. The build therefore compiles only:
the kernels of the registered ops (`kernels/<base>.cc`, `<base>_common.cc`, and the CMSIS-NN
variant `kernels/cmsis_nn/<base>.cc` where the tree has one) plus the shared kernel helpers.
"""

from __future__ import annotations

import re
from pathlib import Path

from vwwdeploy.errors import UserError

# MicroMutableOpResolver method -> TFLM kernel file base names (tensorflow/lite/micro/kernels/).
KERNEL_FILES: dict[str, tuple[str, ...]] = {
    "AddAbs": ("elementwise",),
    "AddAdd": ("add",),
    "AddArgMax": ("arg_min_max",),
    "AddArgMin": ("arg_min_max",),
    "AddAveragePool2D": ("pooling",),
    "AddBatchToSpaceNd": ("batch_to_space_nd",),
    "AddConcatenation": ("concatenation",),
    "AddConv2D": ("conv",),
    "AddDepthwiseConv2D": ("depthwise_conv",),
    "AddDequantize": ("dequantize",),
    "AddExpandDims": ("expand_dims",),
    "AddFullyConnected": ("fully_connected",),
    "AddHardSwish": ("hard_swish",),
    "AddL2Normalization": ("l2norm",),
    "AddLeakyRelu": ("leaky_relu",),
    "AddLogistic": ("logistic",),
    "AddMaximum": ("maximum_minimum",),
    "AddMaxPool2D": ("pooling",),
    "AddMean": ("reduce",),
    "AddMinimum": ("maximum_minimum",),
    "AddMul": ("mul",),
    "AddPad": ("pad",),
    "AddPadV2": ("pad",),
    "AddPrelu": ("prelu",),
    "AddQuantize": ("quantize",),
    "AddReduceMax": ("reduce",),
    "AddRelu": ("activations",),
    "AddRelu6": ("activations",),
    "AddReshape": ("reshape",),
    "AddResizeBilinear": ("resize_bilinear",),
    "AddResizeNearestNeighbor": ("resize_nearest_neighbor",),
    "AddShape": ("shape",),
    "AddSoftmax": ("softmax",),
    "AddSpaceToBatchNd": ("space_to_batch_nd",),
    "AddSplit": ("split",),
    "AddSqueeze": ("squeeze",),
    "AddStridedSlice": ("strided_slice",),
    "AddSub": ("sub",),
    "AddTanh": ("tanh",),
    "AddTranspose": ("transpose",),
    "AddTransposeConv": ("transpose_conv",),
}

# Helpers every kernel build links against.
SHARED_KERNEL_FILES = ("kernel_util.cc", "micro_tensor_utils.cc")

# Non-kernel parts of the tree no person-detection firmware calls: the audio signal library (and
# the FFT it wraps), and test scaffolding.
EXCLUDED = (
    "signal/",
    "third_party/kissfft/",
    "tensorflow/lite/micro/test_helpers.cc",
    "tensorflow/lite/micro/test_helper_custom_ops.cc",
    "tensorflow/lite/micro/mock_micro_graph.cc",
    "tensorflow/lite/micro/fake_micro_context.cc",
    "tensorflow/lite/micro/kernels/kernel_runner.cc",
)

KERNELS_DIR = "tensorflow/lite/micro/kernels"
_METHOD_RE = re.compile(r"\.\s*(Add[A-Za-z0-9]+)\s*\(")


def resolver_methods(settings_header: Path) -> list[str]:
    """The resolver methods VWWDEPLOY_ADD_OPS calls in a generated model_settings.h."""
    text = settings_header.read_text(encoding="utf-8")
    macro = next((line for line in text.splitlines() if line.startswith("#define VWWDEPLOY_ADD_OPS")), None)
    if macro is None:
        raise UserError(f"{settings_header} has no VWWDEPLOY_ADD_OPS macro; regenerate it with `vwwdeploy codegen`")
    return _METHOD_RE.findall(macro)


def kernel_sources(tree: Path, methods: list[str]) -> list[str]:
    """Tree-relative kernel .cc files to compile for these resolver methods."""
    unknown = [m for m in methods if m not in KERNEL_FILES]
    if unknown:
        raise UserError(
            f"the firmware build has no TFLM kernel for resolver call {unknown[0]}; "
            "this op is not supported on the Edge build"
        )
    picked: list[str] = list(f"{KERNELS_DIR}/{name}" for name in SHARED_KERNEL_FILES)
    for method in methods:
        for base in KERNEL_FILES[method]:
            for rel in (
                f"{KERNELS_DIR}/{base}.cc",
                f"{KERNELS_DIR}/{base}_common.cc",
                f"{KERNELS_DIR}/cmsis_nn/{base}.cc",
            ):
                if (tree / rel).is_file() and rel not in picked:
                    picked.append(rel)
    return [p for p in picked if (tree / p).is_file()]


def library_sources(tree: Path, methods: list[str]) -> dict[str, list[str]]:
    """Tree-relative .c/.cc files of the TFLM library for a firmware registering `methods`, grouped
    by the optimisation level TFLM gives them (tflm_flags.json "optimization"): "kernels" and
    "cmsis_nn" at the kernel level, "core" at the core level. The same selection the Edge build
    (firmware/platformio/vww_post.py) compiles, for other builds of the same firmware (QEMU)."""
    files = sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if p.suffix in (".c", ".cc", ".cpp"))
    cmsis_nn = [f for f in files if f.startswith("third_party/cmsis_nn/Source/")]
    core = [
        f
        for f in files
        if not f.startswith((KERNELS_DIR + "/", "third_party/cmsis_nn/"))
        and not any(f == x or (x.endswith("/") and f.startswith(x)) for x in EXCLUDED)
    ]
    return {"kernels": kernel_sources(tree, methods), "cmsis_nn": cmsis_nn, "core": core}
