"""Size figures of a model: parameter count and multiply-accumulates (MACs)."""

from __future__ import annotations

import math

from vwwdeploy.model.schema import Model, Subgraph


def parameter_count(model: Model) -> int:
    """Elements of every constant tensor (weights and biases: tensors backed by a non-empty buffer)."""
    total = 0
    for sg in model.subgraphs:
        for t in sg.tensors:
            if 0 < t.buffer < len(model.buffer_sizes) and model.buffer_sizes[t.buffer] > 0:
                total += t.elements
    return total


def _shape(sg: Subgraph, index: int) -> list[int]:
    return sg.tensors[index].shape if 0 <= index < len(sg.tensors) else []


def op_macs(model: Model, sg: Subgraph, op) -> int:
    """MACs of one op; pooling, activations and reshapes count as 0 (they do no multiply-accumulate)."""
    name = model.op_name(op)
    out = _shape(sg, op.outputs[0]) if op.outputs else []
    weights = _shape(sg, op.inputs[1]) if len(op.inputs) > 1 else []
    if not out or not weights:
        return 0
    if name == "CONV_2D":  # filter [Cout, kh, kw, Cin]
        return math.prod(out) * math.prod(weights[1:])
    if name == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, Cout]
        return math.prod(out) * math.prod(weights[1:3])
    if name == "FULLY_CONNECTED":  # weights [units, in]
        return math.prod(out) * weights[-1]
    if name == "TRANSPOSE_CONV":  # inputs: output_shape, filter [Cout, kh, kw, Cin], input
        inp = _shape(sg, op.inputs[2]) if len(op.inputs) > 2 else []
        return math.prod(inp) * math.prod(weights[:3]) if inp else 0
    return 0


def mac_count(model: Model) -> int:
    return sum(op_macs(model, sg, op) for sg in model.subgraphs for op in sg.operators)
