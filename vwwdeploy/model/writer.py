"""Re-serialise an edited model, using the object API of the schema module LiteRT ships.

`--fix` does not use this (it patches the few bytes it changes in place, so nothing else can
move); this is for building models in tests and tools: e.g. turning an op into a custom op.
"""

from __future__ import annotations

from collections.abc import Callable

from vwwdeploy.model.schema import FILE_IDENTIFIER, parse_model


def unpack(data: bytes):
    """The model as a mutable `ModelT` object tree."""
    from ai_edge_litert import schema_py_generated as schema

    parse_model(data)  # a clear error instead of an exception from deep inside the generated code
    return schema.ModelT.InitFromPackedBuf(bytearray(data), 0)


def pack(model_t) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model_t.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def edit_model(data: bytes, edit: Callable[[object], None]) -> bytes:
    """Apply `edit(model_t)` and return the new flatbuffer bytes."""
    model_t = unpack(data)
    edit(model_t)
    return pack(model_t)


def make_custom_op(data: bytes, builtin_name: str, custom_code: str) -> bytes:
    """Turn every use of builtin `builtin_name` into custom op `custom_code` (as Vela's `ethos-u` is)."""
    from ai_edge_litert import schema_py_generated as schema

    target = getattr(schema.BuiltinOperator, builtin_name)

    def edit(m) -> None:
        hits = [oc for oc in m.operatorCodes if max(oc.builtinCode, oc.deprecatedBuiltinCode) == target]
        if not hits:
            raise ValueError(f"the model has no {builtin_name} op")
        for oc in hits:
            oc.builtinCode = schema.BuiltinOperator.CUSTOM
            oc.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
            oc.customCode = custom_code

    return edit_model(data, edit)
