"""The Arrow schema the engine wrote into a Parquet footer (`ARROW:schema`, a base64 IPC
message: a FlatBuffer), read by hand: it holds the types the engine really had — a seconds
timestamp is stored in Parquet as a bare INT64, but the engine, and its JSON rendering the
preview shows, still treat it as a timestamp."""

from __future__ import annotations

import base64
import struct

# Schema.fbs: the Type union's tags, and the unit enums
_INT, _FLOAT, _BINARY, _UTF8, _BOOL, _DECIMAL, _DATE, _TIME, _TIMESTAMP = 2, 3, 4, 5, 6, 7, 8, 9, 10
_NAMES = {1: "null", _BINARY: "binary", _UTF8: "string", _BOOL: "bool", _DECIMAL: "decimal", _TIME: "time", 11: "interval", 12: "list",
          13: "struct", 14: "union", 15: "binary", 16: "list", 17: "map", 18: "duration", 19: "binary", 20: "string", 21: "list",
          23: "binary", 24: "string", 25: "list", 26: "list"}


class _Table:
    def __init__(self, buf: bytes, pos: int):
        self.buf, self.pos = buf, pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vsize = struct.unpack_from("<H", buf, self.vtable)[0]

    def _field(self, n: int) -> int:
        at = 4 + 2 * n
        return struct.unpack_from("<H", self.buf, self.vtable + at)[0] if at < self.vsize else 0

    def scalar(self, n: int, fmt: str, default: int) -> int:
        off = self._field(n)
        return struct.unpack_from(fmt, self.buf, self.pos + off)[0] if off else default

    def _ref(self, n: int) -> int | None:
        off = self._field(n)
        return None if not off else self.pos + off + struct.unpack_from("<I", self.buf, self.pos + off)[0]

    def table(self, n: int) -> _Table | None:
        at = self._ref(n)
        return None if at is None else _Table(self.buf, at)

    def string(self, n: int) -> str | None:
        at = self._ref(n)
        if at is None:
            return None
        size = struct.unpack_from("<I", self.buf, at)[0]
        return self.buf[at + 4 : at + 4 + size].decode("utf-8", "replace")

    def tables(self, n: int) -> list[_Table]:
        at = self._ref(n)
        if at is None:
            return []
        count = struct.unpack_from("<I", self.buf, at)[0]
        out = []
        for i in range(count):
            el = at + 4 + 4 * i
            out.append(_Table(self.buf, el + struct.unpack_from("<I", self.buf, el)[0]))
        return out


def _type_name(field: _Table) -> str:
    tag = field.scalar(2, "<B", 0)
    t = field.table(3)
    if tag == _INT and t is not None:
        return f"{'int' if t.scalar(1, '<?', False) else 'uint'}{t.scalar(0, '<i', 64)}"
    if tag == _FLOAT and t is not None:
        return {0: "float16", 1: "float32"}.get(t.scalar(0, "<h", 2), "float64")
    if tag == _DATE:
        return "date"
    if tag == _TIMESTAMP and t is not None:
        return "timestamptz" if t.string(1) else "timestamp"
    return _NAMES.get(tag, "unknown")


def columns(encoded: bytes) -> list[tuple[str, str]]:
    """(name, pipeline type name) of each top-level field of a base64 `ARROW:schema` value."""
    raw = base64.b64decode(encoded)
    if raw[:4] == b"\xff\xff\xff\xff":  # continuation marker, then the message's length
        raw = raw[8:]
    else:  # the pre-1.0 framing: the length alone
        raw = raw[4:]
    message = _Table(raw, struct.unpack_from("<I", raw, 0)[0])
    schema = message.table(2)
    if schema is None:
        raise ValueError("the ARROW:schema message holds no schema")
    return [(f.string(0) or "", _type_name(f)) for f in schema.tables(1)]
