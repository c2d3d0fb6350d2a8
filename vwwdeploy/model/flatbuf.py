"""A bounds-checked reader for FlatBuffers tables, just enough for the .tflite schema.

Why not the generated `schema_py_generated` reader: it does no verification. On a truncated or
corrupt file it either raises whatever `struct` raises deep inside, or (negative offsets index from
the end of a Python buffer) silently returns garbage. Every read here checks its bounds and raises
`ModelFormatError` with one line, and it also tells us the absolute byte offset of each scalar
field, which is what `--fix` needs to patch metadata in place without re-serialising the model.
"""

from __future__ import annotations

import struct

from vwwdeploy.errors import UserError

_U8 = struct.Struct("<B")
_I8 = struct.Struct("<b")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_F32 = struct.Struct("<f")

SCALARS = {"u8": _U8, "i8": _I8, "u16": _U16, "i32": _I32, "u32": _U32, "i64": _I64, "f32": _F32}


class ModelFormatError(UserError):
    """The bytes are not a (complete) FlatBuffer of the expected schema."""


class Buf:
    """Immutable bytes with checked little-endian reads."""

    def __init__(self, data: bytes, what: str = "file"):
        self.data = bytes(data)
        self.what = what

    def __len__(self) -> int:
        return len(self.data)

    def check(self, pos: int, size: int, what: str) -> None:
        if pos < 0 or size < 0 or pos + size > len(self.data):
            raise ModelFormatError(
                f"the {self.what} is truncated or corrupt: {what} at byte {pos} (+{size}) lies outside its "
                f"{len(self.data)} bytes"
            )

    def read(self, kind: str, pos: int, what: str = "value"):
        s = SCALARS[kind]
        self.check(pos, s.size, what)
        return s.unpack_from(self.data, pos)[0]

    def root(self) -> "Table":
        self.check(0, 8, "root offset and file identifier")
        return Table(self, self.read("u32", 0, "root offset"), "root table")


class Table:
    """One FlatBuffers table: fields are looked up by their index in the schema."""

    def __init__(self, buf: Buf, pos: int, what: str):
        self.buf = buf
        self.pos = pos
        self.what = what
        vt = pos - buf.read("i32", pos, f"{what} vtable offset")
        self.vtable = vt
        self.vt_size = buf.read("u16", vt, f"{what} vtable size")
        if self.vt_size < 4 or self.vt_size % 2:
            raise ModelFormatError(f"the {buf.what} is corrupt: {what} has a vtable of {self.vt_size} bytes")
        buf.check(vt, self.vt_size, f"{what} vtable")
        self.table_size = buf.read("u16", vt + 2, f"{what} size")
        buf.check(pos, self.table_size, what)

    def field_pos(self, index: int) -> int | None:
        """Absolute position of field `index`, or None when the field is absent (default value)."""
        slot = 4 + 2 * index
        if slot >= self.vt_size:
            return None
        off = self.buf.read("u16", self.vtable + slot, f"{self.what} field {index}")
        if off == 0:
            return None
        if off >= self.table_size:
            raise ModelFormatError(f"the {self.buf.what} is corrupt: {self.what} field {index} outside its table")
        return self.pos + off

    def scalar(self, index: int, kind: str, default=0):
        pos = self.field_pos(index)
        return default if pos is None else self.buf.read(kind, pos, f"{self.what} field {index}")

    def _deref(self, index: int) -> int | None:
        pos = self.field_pos(index)
        if pos is None:
            return None
        return pos + self.buf.read("u32", pos, f"{self.what} field {index} offset")

    def table(self, index: int, what: str) -> "Table | None":
        target = self._deref(index)
        return None if target is None else Table(self.buf, target, what)

    def _vector(self, index: int, elem_size: int, what: str) -> tuple[int, int] | None:
        start = self._deref(index)
        if start is None:
            return None
        n = self.buf.read("u32", start, f"{what} length")
        self.buf.check(start + 4, n * elem_size, what)
        return start + 4, n

    def string(self, index: int, what: str = "string") -> str | None:
        vec = self._vector(index, 1, what)
        if vec is None:
            return None
        start, n = vec
        return self.buf.data[start : start + n].decode("utf-8", errors="replace")

    def bytes_(self, index: int, what: str = "bytes") -> bytes:
        vec = self._vector(index, 1, what)
        if vec is None:
            return b""
        start, n = vec
        return self.buf.data[start : start + n]

    def bytes_span(self, index: int, what: str = "bytes") -> tuple[int, int] | None:
        """(absolute start, length) of a byte vector, without copying it."""
        return self._vector(index, 1, what)

    def scalars(self, index: int, kind: str, what: str = "vector") -> list:
        s = SCALARS[kind]
        vec = self._vector(index, s.size, what)
        if vec is None:
            return []
        start, n = vec
        return [v[0] for v in s.iter_unpack(self.buf.data[start : start + n * s.size])]

    def tables(self, index: int, what: str) -> list["Table"]:
        vec = self._vector(index, 4, what)
        if vec is None:
            return []
        start, n = vec
        out = []
        for i in range(n):
            p = start + 4 * i
            out.append(Table(self.buf, p + self.buf.read("u32", p, f"{what}[{i}] offset"), f"{what}[{i}]"))
        return out
