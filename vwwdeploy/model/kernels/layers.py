"""The layers of an int8 .tflite as the kernel generator and the op profile need them: op, shapes,
strides, padding, activation, weights, bias and quantization, read with the flatbuffer object API that
`ai-edge-litert` ships (the project's own reader in model/schema.py skips builtin options)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vwwdeploy.errors import UserError


@dataclass
class TensorInfo:
    index: int
    shape: tuple[int, ...]
    dtype: int
    scale: np.ndarray | None  # per tensor (1 value) or per channel
    zero_point: np.ndarray | None
    data: np.ndarray | None  # constant tensors only


@dataclass
class Layer:
    index: int
    op: str
    inputs: list[TensorInfo | None]
    outputs: list[TensorInfo]
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: str = ""  # "SAME" / "VALID" for convolutions and pooling
    activation: str = "NONE"
    depth_multiplier: int = 0

    @property
    def macs(self) -> int:
        out = self.outputs[0].shape
        if self.op == "CONV_2D":
            return math.prod(out) * math.prod(self.inputs[1].shape[1:])
        if self.op == "DEPTHWISE_CONV_2D":
            return math.prod(out) * self.inputs[1].shape[1] * self.inputs[1].shape[2]
        return 0

    def describe(self) -> str:
        if self.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            f = self.inputs[1].shape
            kind = f"{f[1]}x{f[2]}" + (f" dm{self.depth_multiplier}" if self.op == "DEPTHWISE_CONV_2D" else "")
            return f"{kind} s{self.stride[0]} {_shape(self.inputs[0].shape)}->{_shape(self.outputs[0].shape)}"
        return f"{_shape(self.inputs[0].shape)}->{_shape(self.outputs[0].shape)}"


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in (shape[1:] if len(shape) == 4 else shape))


def read_layers(model: str | Path | bytes) -> list[Layer]:
    from ai_edge_litert import schema_py_generated as schema

    blob = model if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()
    try:
        m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(blob, 0))
    except Exception as exc:  # the generated reader raises anything on a damaged buffer
        raise UserError(f"not a readable .tflite model ({exc.__class__.__name__})") from None
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    padding = {v: k for k, v in vars(schema.Padding).items() if not k.startswith("_")}
    activation = {v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")}
    sg = m.subgraphs[0]

    def tensor(i: int) -> TensorInfo | None:
        if i < 0:
            return None
        t = sg.tensors[i]
        q = t.quantization
        scale = np.asarray(q.scale, dtype=np.float32) if q is not None and q.scale is not None else None
        zp = np.asarray(q.zeroPoint, dtype=np.int64) if q is not None and q.zeroPoint is not None else None
        buf = m.buffers[t.buffer].data if t.buffer < len(m.buffers) else None
        data = None
        if buf is not None and len(buf):
            dtype = {schema.TensorType.INT8: np.int8, schema.TensorType.INT32: np.int32}.get(t.type)
            if dtype is not None:
                data = np.frombuffer(bytes(buf), dtype=dtype).reshape(tuple(t.shape))
        return TensorInfo(i, tuple(int(d) for d in t.shape), t.type, scale, zp, data)

    layers = []
    for i, op in enumerate(sg.operators):
        code = m.operatorCodes[op.opcodeIndex]
        name = op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")
        layer = Layer(i, name, [tensor(t) for t in op.inputs], [tensor(t) for t in op.outputs])
        o = op.builtinOptions
        if o is not None and hasattr(o, "strideH"):
            layer.stride = (o.strideH, o.strideW)
            layer.padding = padding.get(o.padding, "?")
            layer.activation = activation.get(o.fusedActivationFunction, "?")
            layer.dilation = (getattr(o, "dilationHFactor", 1), getattr(o, "dilationWFactor", 1))
            layer.depth_multiplier = getattr(o, "depthMultiplier", 0)
        layers.append(layer)
    return layers
