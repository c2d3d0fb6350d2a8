"""Which TFLite builtin ops the board build can run, and the resolver call that registers each.

The firmware registers exactly the ops a model uses with `tflite::MicroMutableOpResolver<N>`; the
generated `VWWDEPLOY_ADD_OPS(resolver)` macro calls the methods below. An op missing from this table
is one we do not build for the Edge (or TFLM lacks), so `inspect` reports it and `codegen` refuses.
"""

from __future__ import annotations

# builtin op name (schema enum) -> MicroMutableOpResolver method
RESOLVER_METHODS: dict[str, str] = {
    "ABS": "AddAbs",
    "ADD": "AddAdd",
    "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin",
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "CONCATENATION": "AddConcatenation",
    "CONV_2D": "AddConv2D",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "DEQUANTIZE": "AddDequantize",
    "EXPAND_DIMS": "AddExpandDims",
    "FULLY_CONNECTED": "AddFullyConnected",
    "HARD_SWISH": "AddHardSwish",
    "L2_NORMALIZATION": "AddL2Normalization",
    "LEAKY_RELU": "AddLeakyRelu",
    "LOGISTIC": "AddLogistic",
    "MAXIMUM": "AddMaximum",
    "MAX_POOL_2D": "AddMaxPool2D",
    "MEAN": "AddMean",
    "MINIMUM": "AddMinimum",
    "MUL": "AddMul",
    "PAD": "AddPad",
    "PADV2": "AddPadV2",
    "PRELU": "AddPrelu",
    "QUANTIZE": "AddQuantize",
    "REDUCE_MAX": "AddReduceMax",
    "RELU": "AddRelu",
    "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape",
    "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
    "SHAPE": "AddShape",
    "SOFTMAX": "AddSoftmax",
    "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
    "SPLIT": "AddSplit",
    "SQUEEZE": "AddSqueeze",
    "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub",
    "TANH": "AddTanh",
    "TRANSPOSE": "AddTranspose",
    "TRANSPOSE_CONV": "AddTransposeConv",
}

# Ops that only make sense around float tensors: in an int8 model they mean float compute inside.
FLOAT_BOUNDARY_OPS = {"QUANTIZE", "DEQUANTIZE"}


def resolver_method(op_name: str) -> str | None:
    return RESOLVER_METHODS.get(op_name)


def unsupported_hint(op_name: str) -> str:
    if op_name.startswith("CUSTOM:"):
        custom = op_name.split(":", 1)[1]
        if custom.lower().startswith("ethos-u"):
            return (
                "this model was compiled by Vela for an Arm Ethos-U NPU, which the Edge does not have; "
                "use the .tflite from before Vela compilation"
            )
        return "custom ops need their own kernel in the firmware; re-export the model with builtin ops only"
    return "replace it with supported ops when building the model (see `vwwdeploy inspect` op list), or add a kernel"
