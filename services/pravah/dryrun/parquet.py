"""The schema and row count of a Parquet file, from its footer alone (Thrift compact protocol),
named with the pipeline language's type names. The service has no Parquet reader of its own
(pyarrow is a test dependency only), and a footer is all a preview needs."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from pravah.dryrun import arrow_schema

MAGIC = b"PAR1"


class NotParquet(ValueError):
    pass


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Footer:
    columns: list[Column]
    num_rows: int


def footer_length(tail: bytes) -> int:
    """From the last 8 bytes of the file: how many bytes the footer before them holds."""
    if len(tail) < 8 or tail[-4:] != MAGIC:
        raise NotParquet("no PAR1 magic at the end: not a Parquet file")
    return struct.unpack("<I", tail[-8:-4])[0]


def parse_footer(meta: bytes) -> Footer:
    """`meta` is the FileMetaData struct (the `footer_length` bytes before the last 8)."""
    try:
        return _parse(meta)
    except (AttributeError, TypeError, IndexError, KeyError, struct.error) as e:  # a footer of another shape than the format's
        raise NotParquet(f"unreadable footer: {e}") from None


def _parse(meta: bytes) -> Footer:
    fields = _Reader(meta).struct()
    elements = fields.get(2) or []
    if not elements:
        raise NotParquet("the footer holds no schema")
    columns, i = [], 1
    for _ in range(elements[0].get(5, 0)):  # the root's children: the top-level columns
        el = elements[i]
        columns.append(Column(el.get(4, b"").decode("utf-8", "replace"), _type_name(el)))
        i = _skip_subtree(elements, i)
    arrow = next((kv.get(2) for kv in fields.get(5) or [] if kv.get(1) == b"ARROW:schema"), None)
    if arrow:
        try:
            typed = arrow_schema.columns(arrow)
        except (ValueError, IndexError, struct.error):
            typed = []  # not one we can read: the Parquet types are close enough
        if [n for n, _ in typed] == [c.name for c in columns]:
            columns = [Column(n, t) for n, t in typed]
    return Footer(columns, int(fields.get(3, 0)))


def _skip_subtree(elements: list[dict[int, Any]], i: int) -> int:
    n = elements[i].get(5, 0)
    i += 1
    for _ in range(n):
        i = _skip_subtree(elements, i)
    return i


_CONVERTED = {0: "string", 6: "date", 9: "timestamptz", 10: "timestamptz", 11: "uint8", 12: "uint16", 13: "uint32", 14: "uint64",
              15: "int8", 16: "int16", 17: "int32", 18: "int64", 19: "json", 5: "decimal"}
_PHYSICAL = {0: "bool", 1: "int32", 2: "int64", 3: "timestamp", 4: "float32", 5: "float64", 6: "binary", 7: "binary"}


def _type_name(el: dict[int, Any]) -> str:
    if el.get(5):
        return "nested"
    logical = el.get(10) or {}
    if 8 in logical:  # TIMESTAMP { isAdjustedToUTC, unit }
        return "timestamptz" if logical[8].get(1) else "timestamp"
    if 10 in logical:  # INTEGER { bitWidth, isSigned }
        return f"{'int' if logical[10].get(2, True) else 'uint'}{logical[10].get(1, 64)}"
    if 6 in logical:
        return "date"
    if 1 in logical:
        return "string"
    if 6 in el and el[6] in _CONVERTED:
        return _CONVERTED[el[6]]
    return _PHYSICAL.get(el.get(1, -1), "unknown")


class _Reader:
    """Just enough of Thrift's compact protocol to read structs into {field id: value}."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise NotParquet("the footer ends early")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise NotParquet("a varint in the footer is too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int) -> Any:
        if kind in (1, 2):  # booleans inside a collection take a byte
            return self.byte() == 1
        if kind == 3:
            return struct.unpack("b", bytes([self.byte()]))[0]
        if kind in (4, 5, 6):
            return self.zigzag()
        if kind == 7:
            self.pos += 8
            return struct.unpack("<d", self.data[self.pos - 8 : self.pos])[0]
        if kind == 8:
            n = self.varint()
            self.pos += n
            if self.pos > len(self.data):
                raise NotParquet("the footer ends early")
            return self.data[self.pos - n : self.pos]
        if kind in (9, 10):
            head = self.byte()
            size, elem = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return [self.value(elem) for _ in range(size)]
        if kind == 11:
            size = self.varint()
            if not size:
                return {}
            kv = self.byte()
            return {self.value(kv >> 4): self.value(kv & 0x0F) for _ in range(size)}
        if kind == 12:
            return self.struct()
        raise NotParquet(f"unknown Thrift type {kind} in the footer")

    def struct(self) -> dict[int, Any]:
        out: dict[int, Any] = {}
        last = 0
        while True:
            head = self.byte()
            kind = head & 0x0F
            if kind == 0:
                return out
            delta = head >> 4
            fid = last + delta if delta else self.zigzag()
            last = fid
            out[fid] = True if kind == 1 else False if kind == 2 else self.value(kind)
