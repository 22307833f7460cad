"""Convex's total order over values, as byte strings that sort the same way.

Index keys are concatenations of :func:`encode_value` outputs, so a byte-wise
comparison of two keys is exactly Convex's order on the tuples of values
(semantics.md 1.2)::

    undefined < null < int64 < float64 < boolean < string < bytes < array < object

Within float64 the order is IEEE-754 total order (-NaN < -inf < ... < -0.0 <
0.0 < ... < inf < NaN). Every encoding is prefix-free (self-delimiting), so a
key prefix made of whole values selects exactly the keys that start with those
values, and :func:`prefix_successor` turns a prefix into an exclusive end bound.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from pyconvex.errors import InvalidValueError
from pyconvex.values.model import Int64, Undefined, Value

__all__ = ["compare_values", "encode_key", "encode_value", "prefix_successor"]

_UNDEFINED = b"\x01"
_NULL = b"\x02"
_INT64 = 0x03
_FLOAT64 = 0x04
_FALSE = b"\x05\x00"
_TRUE = b"\x05\x01"
_STRING = 0x06
_BYTES = 0x07
_ARRAY = 0x08
_OBJECT = 0x09
_END = b"\x00"
_STR_END = b"\x00\x00"
_FIELD = b"\x01"

_pack_u64 = struct.Struct(">Q").pack
_pack_f64 = struct.Struct(">d").pack
_unpack_u64 = struct.Struct(">Q").unpack
_SIGN = 1 << 63
_MASK = (1 << 64) - 1


def _escape(raw: bytes) -> bytes:
    # 0x00 inside a string becomes 0x00 0xFF; the terminator 0x00 0x00 then
    # sorts below any continuation, so "a" < "a\0" < "ab" byte-wise.
    return raw.replace(b"\x00", b"\x00\xff") + _STR_END


def _encode_into(value: Value, out: bytearray) -> None:
    kind = type(value)
    if kind is str:
        out.append(_STRING)
        out += _escape(value.encode("utf-8"))
    elif kind is float:
        bits = _unpack_u64(_pack_f64(value))[0]
        bits = (~bits & _MASK) if bits & _SIGN else (bits | _SIGN)
        out.append(_FLOAT64)
        out += _pack_u64(bits)
    elif kind is Int64:
        out.append(_INT64)
        out += _pack_u64((int(value) + _SIGN) & _MASK)
    elif value is None:
        out += _NULL
    elif kind is bool:
        out += _TRUE if value else _FALSE
    elif kind is bytes:
        out.append(_BYTES)
        out += _escape(value)
    elif kind is list:
        out.append(_ARRAY)
        for item in value:
            _encode_into(item, out)
        out += _END
    elif kind is dict:
        out.append(_OBJECT)
        for key in sorted(value, key=_utf8):
            if type(value[key]) is Undefined:
                continue  # {a: undefined} is the same value as {}
            out += _FIELD
            out += _escape(key.encode("utf-8"))
            _encode_into(value[key], out)
        out += _END
    elif kind is Undefined:
        out += _UNDEFINED
    else:
        raise InvalidValueError(f"{type(value).__name__} {value!r} is not a supported Convex type.")


def _utf8(key: str) -> bytes:
    return key.encode("utf-8")


def encode_value(value: Value) -> bytes:
    """Encode one canonical value as a byte string in Convex's sort order."""
    out = bytearray()
    _encode_into(value, out)
    return bytes(out)


def encode_key(values: Iterable[Value]) -> bytes:
    """Encode a tuple of values (an index key or key prefix)."""
    out = bytearray()
    for value in values:
        _encode_into(value, out)
    return bytes(out)


def compare_values(left: Value, right: Value) -> int:
    """Compare two values in Convex's total order: negative, zero or positive."""
    a = encode_value(left)
    b = encode_value(right)
    return (a > b) - (a < b)


def prefix_successor(prefix: bytes) -> bytes | None:
    """Return the smallest byte string greater than every string starting with ``prefix``.

    Returns None when no such string exists (``prefix`` is empty or all 0xFF),
    meaning the range is unbounded above.
    """
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
