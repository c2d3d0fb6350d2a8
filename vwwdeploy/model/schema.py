"""The parts of a .tflite model (TFLite FlatBuffer schema v3) that deployment cares about.

Field indices below are the `id`s of the fields in tensorflow/lite/schema/schema.fbs; enum names come
from the generated schema module that `ai-edge-litert` ships (light to import, and always in step
with the format LiteRT itself accepts).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.model.flatbuf import Buf, ModelFormatError, Table

FILE_IDENTIFIER = b"TFL3"
CUSTOM = 32  # BuiltinOperator.CUSTOM


@functools.lru_cache(maxsize=None)
def _enum_names(enum_class: str) -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    cls = getattr(schema, enum_class)
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


def builtin_name(code: int) -> str:
    return _enum_names("BuiltinOperator").get(code, f"BUILTIN_{code}")


def tensor_type_name(code: int) -> str:
    return _enum_names("TensorType").get(code, f"TYPE_{code}").lower()


@dataclass
class Quantization:
    scale: list[float]
    zero_point: list[int]
    quantized_dimension: int
    quantized_dimension_pos: int | None  # absolute byte offset of the stored field, None when defaulted


@dataclass
class Tensor:
    index: int
    name: str
    shape: list[int]
    dtype: str
    buffer: int
    quantization: Quantization | None

    @property
    def elements(self) -> int:
        return math.prod(self.shape) if self.shape else 1


@dataclass
class OpCode:
    builtin: int
    custom_code: str | None
    version: int

    @property
    def name(self) -> str:
        if self.builtin == CUSTOM:
            return f"CUSTOM:{self.custom_code or '?'}"
        return builtin_name(self.builtin)


@dataclass
class Operator:
    opcode_index: int
    inputs: list[int]
    outputs: list[int]


@dataclass
class Subgraph:
    name: str
    tensors: list[Tensor]
    inputs: list[int]
    outputs: list[int]
    operators: list[Operator]


@dataclass
class Model:
    data: bytes
    version: int
    description: str
    opcodes: list[OpCode]
    subgraphs: list[Subgraph]
    buffer_sizes: list[int] = field(default_factory=list)

    def op_name(self, op: Operator) -> str:
        return self.opcodes[op.opcode_index].name


def _quantization(t: Table | None) -> Quantization | None:
    if t is None:
        return None
    return Quantization(
        scale=t.scalars(2, "f32", "quantization scale"),
        zero_point=t.scalars(3, "i64", "quantization zero point"),
        quantized_dimension=t.scalar(6, "i32"),
        quantized_dimension_pos=t.field_pos(6),
    )


def _tensor(i: int, t: Table) -> Tensor:
    return Tensor(
        index=i,
        name=t.string(3, "tensor name") or "",
        shape=t.scalars(0, "i32", "tensor shape"),
        dtype=tensor_type_name(t.scalar(1, "i8")),
        buffer=t.scalar(2, "u32"),
        quantization=_quantization(t.table(4, f"tensor {i} quantization")),
    )


def _subgraph(t: Table) -> Subgraph:
    tensors = [_tensor(i, tt) for i, tt in enumerate(t.tables(0, "tensors"))]
    ops = [
        Operator(opcode_index=o.scalar(0, "u32"), inputs=o.scalars(1, "i32"), outputs=o.scalars(2, "i32"))
        for o in t.tables(3, "operators")
    ]
    return Subgraph(
        name=t.string(4) or "", tensors=tensors, inputs=t.scalars(1, "i32"), outputs=t.scalars(2, "i32"), operators=ops
    )


def _buffer_size(t: Table) -> int:
    span = t.bytes_span(0, "buffer data")
    if span is not None:
        return span[1]
    return int(t.scalar(2, "i64"))  # large models keep data outside the flatbuffer (offset, size)


def parse_model(data: bytes) -> Model:
    """Parse and sanity-check a .tflite; raises ModelFormatError (one line) when it is not one."""
    data = bytes(data)
    if len(data) < 8:
        raise ModelFormatError(f"not a .tflite model: {len(data)} bytes is too short for a FlatBuffer")
    if data[4:8] != FILE_IDENTIFIER:
        raise ModelFormatError(
            f"not a .tflite model: it lacks the TFL3 FlatBuffer identifier (bytes 4-7 are {data[4:8]!r})"
        )
    buf = Buf(data, "model file")
    root = buf.root()
    opcodes = []
    for t in root.tables(1, "operator_codes"):
        deprecated = t.scalar(0, "i8")
        code = t.scalar(3, "i32")
        # Schema v3a: builtin_code superseded the int8 deprecated_builtin_code; readers take the larger.
        opcodes.append(OpCode(builtin=max(deprecated, code), custom_code=t.string(1), version=t.scalar(2, "i32", 1)))
    subgraphs = [_subgraph(t) for t in root.tables(2, "subgraphs")]
    model = Model(
        data=data,
        version=root.scalar(0, "u32"),
        description=root.string(3) or "",
        opcodes=opcodes,
        subgraphs=subgraphs,
        buffer_sizes=[_buffer_size(t) for t in root.tables(4, "buffers")],
    )
    _check_references(model)
    return model


def _check_references(model: Model) -> None:
    if not model.subgraphs:
        raise ModelFormatError("not a usable .tflite model: it has no subgraph")
    for sg in model.subgraphs:
        n = len(sg.tensors)
        for i in sg.inputs + sg.outputs:
            if not 0 <= i < n:
                raise ModelFormatError(f"corrupt .tflite model: subgraph input/output refers to tensor {i} of {n}")
        for k, op in enumerate(sg.operators):
            if op.opcode_index >= len(model.opcodes):
                raise ModelFormatError(f"corrupt .tflite model: operator {k} uses opcode {op.opcode_index}")
            for i in op.inputs + op.outputs:
                if not -1 <= i < n:  # -1 marks an optional input that is absent
                    raise ModelFormatError(f"corrupt .tflite model: operator {k} refers to tensor {i} of {n}")
        for t in sg.tensors:
            if t.buffer >= max(len(model.buffer_sizes), 1):
                raise ModelFormatError(f"corrupt .tflite model: tensor {t.name!r} refers to buffer {t.buffer}")


def load_bytes(model: bytes | bytearray | str | Path) -> tuple[bytes, str]:
    """(bytes, display name) from a path or bytes; a missing/unreadable path is a UserError."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "<bytes>"
    path = Path(model)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path} is a directory, expected a .tflite file")
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def read_model(model: bytes | str | Path) -> Model:
    data, name = load_bytes(model)
    try:
        return parse_model(data)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{name}: {exc}") from None
