"""The Convex value model in Python.

Convex has eight value types. Their Python forms:

=========  ==========================================================
null       ``None``
int64      :class:`Int64` (a subclass of ``int``)
float64    ``float`` (NaN, the infinities and -0.0 are kept)
boolean    ``bool``
string     ``str`` (valid Unicode: no lone surrogates)
bytes      ``bytes``
array      ``list``
object     ``dict`` with ``str`` keys
=========  ==========================================================

A plain ``int`` is ambiguous. Where a validator expects ``v.int64()`` it becomes
an :class:`Int64`; everywhere else it means float64, exactly as a JavaScript
number or a JSON number does (and as the official Python client sends it), and
must then fit in 2**53. :data:`UNDEFINED` stands for JavaScript's ``undefined``:
a missing field in index ranges and filters, and "remove this field" in
``db.patch``.
"""

from __future__ import annotations

import enum
from typing import Any, Final, TypeAlias

from pyconvex.errors import InvalidValueError

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_SAFE_INTEGER",
    "UNDEFINED",
    "Int64",
    "Undefined",
    "Value",
    "ValueType",
    "normalize_value",
    "value_type",
]

INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1
#: Largest integer a float64 holds exactly; plain ints beyond it are refused.
MAX_SAFE_INTEGER: Final = 1 << 53


class Int64(int):
    """A Convex int64: an ``int`` that stays an int64 through storage and the wire."""

    __slots__ = ()

    def __new__(cls, value: int = 0) -> Int64:
        result = super().__new__(cls, value)
        if not INT64_MIN <= result <= INT64_MAX:
            raise InvalidValueError(
                f"BigInt {int(result)} does not fit into a 64-bit signed integer."
            )
        return result

    def __repr__(self) -> str:
        return f"Int64({int(self)})"


def _int64_operator(name: str) -> Any:
    # Arithmetic between Int64 and integers stays Int64, as JavaScript bigint
    # arithmetic stays bigint (and, like a stored int64, must fit in 64 bits).
    # Mixing in a float gives a float, and true division gives a float, as in Python.
    base = getattr(int, name)

    def operator(self: Int64, *others: Any) -> Any:
        result = base(self, *others)
        if type(result) is int and all(isinstance(o, int) for o in others):
            return Int64(result)
        return result

    operator.__name__ = name
    return operator


for _name in (
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
    "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__",
    "__neg__", "__pos__", "__abs__", "__and__", "__rand__", "__or__", "__ror__",
    "__xor__", "__rxor__", "__lshift__", "__rshift__", "__invert__",
):  # fmt: skip
    setattr(Int64, _name, _int64_operator(_name))
del _name


class Undefined:
    """The type of :data:`UNDEFINED`, JavaScript's ``undefined``."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


#: A missing field in index ranges and filters; "remove this field" in ``db.patch``.
UNDEFINED: Final = Undefined()

#: Any Convex value in its canonical Python form.
Value: TypeAlias = Any


class ValueType(enum.IntEnum):
    """The value types, numbered in Convex's cross-type sort order."""

    UNDEFINED = 1
    NULL = 2
    INT64 = 3
    FLOAT64 = 4
    BOOLEAN = 5
    STRING = 6
    BYTES = 7
    ARRAY = 8
    OBJECT = 9


_TYPE_OF: dict[type, ValueType] = {
    type(None): ValueType.NULL,
    Int64: ValueType.INT64,
    float: ValueType.FLOAT64,
    bool: ValueType.BOOLEAN,
    str: ValueType.STRING,
    bytes: ValueType.BYTES,
    list: ValueType.ARRAY,
    dict: ValueType.OBJECT,
    Undefined: ValueType.UNDEFINED,
}


def value_type(value: Value) -> ValueType:
    """Return the Convex type of a canonical value.

    Raises:
        InvalidValueError: ``value`` is not in canonical form (see :func:`normalize_value`).
    """
    found = _TYPE_OF.get(type(value))
    if found is None:
        raise InvalidValueError(f"{_describe(value)} is not a supported Convex type.")
    return found


def normalize_value(value: Any) -> Value:
    """Return ``value`` in canonical form, or raise if it is not a Convex value.

    Plain ``int`` becomes ``float`` (float64), tuples become lists, ``bytearray``
    and ``memoryview`` become ``bytes``. ``UNDEFINED`` object fields are dropped,
    as JavaScript drops ``undefined`` properties. Canonical input is returned
    as is when nothing inside it needs converting.

    Raises:
        InvalidValueError: the value (or something inside it) is not a Convex value.
    """
    kind = type(value)
    if kind is dict:
        return _normalize_dict(value)
    if kind is list:
        return _normalize_list(value)
    if kind in _SCALARS:
        if kind is str:
            _check_unicode(value)
        return value
    return _normalize_other(value)


_SCALARS = frozenset({type(None), Int64, float, bool, str, bytes})


def _normalize_dict(value: dict[Any, Any]) -> dict[str, Value]:
    changed = False
    out: dict[str, Value] = {}
    for key, item in value.items():
        if type(key) is not str:
            raise InvalidValueError(f"Object keys must be strings, got {_describe(key)}.")
        _check_unicode(key)
        if type(item) is Undefined:
            changed = True
            continue
        new = normalize_value(item)
        changed = changed or new is not item
        out[key] = new
    return out if changed else value


def _normalize_list(value: list[Any]) -> list[Value]:
    changed = False
    out: list[Value] = []
    for item in value:
        if type(item) is Undefined:
            raise InvalidValueError("undefined is not a valid Convex value (found in an array).")
        new = normalize_value(item)
        changed = changed or new is not item
        out.append(new)
    return out if changed else value


def _normalize_other(value: Any) -> Value:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, Int64):
        return Int64(int(value))
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidValueError(
                f"Integer {value} is not exactly representable as a float64; "
                "use Int64(...) or a v.int64() validator for 64-bit integers."
            )
        return float(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        _check_unicode(value)
        return str(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, tuple):
        return [normalize_value(item) for item in value]
    if isinstance(value, Undefined):
        raise InvalidValueError("undefined is not a valid Convex value.")
    if isinstance(value, dict):
        return _normalize_dict(dict(value))
    if isinstance(value, list):
        return _normalize_list(list(value))
    raise InvalidValueError(f"{_describe(value)} is not a supported Convex type.")


def _check_unicode(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValueError(
            f"String {value!r} is not valid Unicode (it contains a lone surrogate)."
        ) from None


def _describe(value: Any) -> str:
    if isinstance(value, (set, frozenset)):
        members = ", ".join(sorted(_quoted(item) for item in value))
        return f"Set[{members}]"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _quoted(item: Any) -> str:
    return f'"{item}"' if isinstance(item, str) else repr(item)
