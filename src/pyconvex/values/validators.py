"""Validators: the ``v`` namespace of Convex, for arguments, return values and schemas.

::

    from pyconvex.values.validators import v

    message = v.object(
        {"body": v.string(), "author": v.id("users"), "likes": v.optional(v.int64())}
    )
    doc = message.validate({"body": "hi", "author": some_id, "likes": 3}, ctx=transaction)

:meth:`Validator.validate` returns the value in canonical form or raises
:class:`~pyconvex.errors.ValidationError` with the message the Convex server
gives (``crates/common/src/schemas/validator.rs``), for example::

    Value does not match validator.
    Path: .author
    Value: 12.0
    Validator: v.id("users")

Values in messages are printed as the server prints them (Rust ``Display`` of
a Convex value: ``12.0``, ``5`` for an int64, ``"text"``, ``b"AAE="``,
``{a: 1.0}``), validators as ``v.*`` expressions.

Coercion of Python values:

* A plain ``int`` is float64 by default (``v.number()``, ``v.float64()``,
  ``v.literal(5)``, ``v.any()``), and becomes an :class:`Int64` where a
  ``v.int64()`` (or an int64 literal) expects one. In a union, a member that
  accepts the value with the float64 meaning wins over one that needs the
  int64 coercion, whatever their order; ``bool`` is never a number.
* Tuples become lists, ``bytearray`` becomes ``bytes``, and object fields set
  to ``UNDEFINED`` count as missing.

``v.id("t")`` needs a :class:`ValidationContext` to check which table an ID
belongs to (the database transaction is one). Without a context it only checks
that the value is a string, as Convex's client-side validators do.

``v.optional(x)`` marks an object field as optional: the field may be missing
(or ``UNDEFINED``). Elsewhere the flag has no effect, as in Convex, except that
:meth:`Validator.validate` lets ``UNDEFINED`` through for an optional validator.

Definitions are checked when built, with Convex's texts: ``v.object`` field
names must be identifiers, ``v.id`` needs a valid table name, ``v.record``
keys must be string-like and its values required. These raise
:class:`~pyconvex.errors.SchemaError`; passing something that is not a
validator raises ``TypeError``.
"""

from __future__ import annotations

import copy
import json as _stdlib_json
import math
import struct
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final, Protocol

from pyconvex.errors import InvalidIdError, SchemaError, ValidationError
from pyconvex.values.ids import decode_id
from pyconvex.values.json import (
    _shortest_digits,
    b64encode,
    decode_json,
    encode_json,
    format_json_float,
)
from pyconvex.values.limits import field_name_error, identifier_error
from pyconvex.values.model import (
    MAX_SAFE_INTEGER,
    Int64,
    Undefined,
    Value,
    normalize_value,
)

__all__ = [
    "AnyValidator",
    "ArrayValidator",
    "BooleanValidator",
    "BytesValidator",
    "Float64Validator",
    "IdValidator",
    "Int64Validator",
    "LiteralValidator",
    "NullValidator",
    "ObjectValidator",
    "RecordValidator",
    "StringValidator",
    "TableNumberContext",
    "UnionValidator",
    "ValidationContext",
    "ValidationError",
    "Validator",
    "display_value",
    "v",
    "validator_from_json",
]

_NoneType = type(None)
_MISSING: Final = object()
_pack_f64 = struct.Struct("<d").pack


# --------------------------------------------------------------------------- context


class ValidationContext(Protocol):
    """What ``v.id`` validation needs from its surroundings."""

    def table_name_for_id(self, id_str: str) -> str | None:
        """Return the name of the table ``id_str`` belongs to, or None if it is not an ID
        of an existing table."""
        ...


class TableNumberContext:
    """A :class:`ValidationContext` over a fixed ``{table_number: table_name}`` map."""

    __slots__ = ("_names",)

    def __init__(self, names: Mapping[int, str]) -> None:
        self._names = dict(names)

    def table_name_for_id(self, id_str: str) -> str | None:
        """Decode ``id_str`` and look its table number up."""
        try:
            number, _ = decode_id(id_str)
        except InvalidIdError:
            return None
        return self._names.get(number)


# --------------------------------------------------------------------------- display


def _rust_float_debug(value: float) -> str:
    # Rust's ``{:?}`` for f64: shortest digits, at least one fractional digit,
    # exponent form below 1e-4 and from 1e16 up.
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "inf" if value > 0 else "-inf"
    sign = "-" if math.copysign(1.0, value) < 0.0 else ""
    if value == 0.0:
        return sign + "0.0"
    digits, k = _shortest_digits(value)
    kk = len(digits) + k
    magnitude = abs(value)
    if magnitude < 1e-4 or magnitude >= 1e16:
        mantissa = digits if len(digits) == 1 else f"{digits[0]}.{digits[1:]}"
        return f"{sign}{mantissa}e{kk - 1}"
    if k >= 0:
        return f"{sign}{digits}{'0' * k}.0"
    if kk > 0:
        return f"{sign}{digits[:kk]}.{digits[kk:]}"
    return f"{sign}0.{'0' * -kk}{digits}"


_STR_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\0": "\\0",
}


def _rust_str_debug(text: str) -> str:
    # Rust's ``{:?}`` for a string: quotes, backslash escapes, ``\u{..}`` for
    # unprintable and combining characters.
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    parts = []
    for char in text:
        escaped = _STR_ESCAPES.get(char)
        if escaped is not None:
            parts.append(escaped)
        elif char.isprintable() and unicodedata.category(char) not in ("Mn", "Me"):
            parts.append(char)
        else:
            parts.append(f"\\u{{{ord(char):x}}}")
    return '"' + "".join(parts) + '"'


def display_value(value: Any) -> str:
    """Print a value as the Convex server does in error messages (Rust ``Display``).

    ``None`` → ``null``, ``Int64(5)`` → ``5``, ``5.0`` → ``5.0``, ``"a"`` →
    ``"a"``, ``b"\\x01"`` → ``b"AQ=="``, lists ``[1.0, 2.0]``, objects
    ``{a: 1.0, b: null}`` (keys sorted and unquoted). ``UNDEFINED`` prints as
    ``undefined``.

    Raises:
        InvalidValueError: ``value`` is not a Convex value.
    """
    kind = type(value)
    if kind is str:
        return _rust_str_debug(value)
    if kind is float:
        return _rust_float_debug(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is Int64:
        return str(int(value))
    if kind is bytes:
        return f'b"{b64encode(value)}"'
    if kind is list or kind is tuple:
        return "[" + ", ".join(map(display_value, value)) + "]"
    if kind is dict:
        fields = [
            f"{key}: {display_value(item)}"
            for key, item in sorted(value.items(), key=_item_key)
            if type(item) is not Undefined
        ]
        return "{" + ", ".join(fields) + "}"
    if kind is Undefined:
        return "undefined"
    if kind is int:
        # A plain int means float64 unless it does not fit one exactly.
        return _rust_float_debug(float(value)) if abs(value) <= MAX_SAFE_INTEGER else str(value)
    return display_value(normalize_value(value))


def _item_key(item: tuple[Any, Any]) -> str:
    key = item[0]
    if type(key) is not str:
        normalize_value({key: None})  # raises InvalidValueError naming the key
    return key  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- mismatches


class _Mismatch(Exception):
    """Internal: a value failed a validator somewhere below.

    ``render`` builds the message from the path context; containers append
    their path segment to ``reversed_path`` as the exception passes through,
    so the path costs nothing when validation succeeds.
    """

    __slots__ = ("render", "reversed_path")

    def __init__(self, render: Callable[[str], str]) -> None:
        super().__init__()
        self.render = render
        self.reversed_path: list[str] = []


def _context(prefix: str, reversed_path: list[str]) -> str:
    path = prefix + "".join(reversed(reversed_path))
    return f"Path: {path}" if path else ""


def _no_match(value: Any, validator: Validator) -> _Mismatch:
    return _Mismatch(
        lambda context: (
            f"Value does not match validator.\n{context}\nValue: {display_value(value)}\n"
            f"Validator: {validator._describe()}"
        )
    )


# --------------------------------------------------------------------------- base


class Validator:
    """Base of every validator; build them with :data:`v`.

    Validators are immutable. ``is_optional`` says whether this validator was
    wrapped in ``v.optional`` (meaningful as an object field).
    """

    __slots__ = ("__weakref__", "_key_cache", "is_optional")

    #: The Python type that passes this validator unchanged with no further
    #: checks (lets containers skip a call per element); None if there is none.
    _exact: ClassVar[type | None] = None

    def __init__(self, *, is_optional: bool = False) -> None:
        self.is_optional = is_optional
        self._key_cache: str | None = None

    # -- public API

    def validate(self, value: Any, path: str = "", ctx: ValidationContext | None = None) -> Value:
        """Return ``value`` in canonical form if it matches, or raise.

        Args:
            value: the value to check (canonical or not; see the module docs).
            path: a path prefix for messages (e.g. ``".args"``); Convex starts with none.
            ctx: resolves ID tables for ``v.id`` (without one, any string passes ``v.id``).

        Raises:
            ValidationError: the value does not match (Convex's message).
            InvalidValueError: the value is not a Convex value at all.
        """
        if type(value) is Undefined:
            if self.is_optional:
                return value
            message = (
                f"Value does not match validator.\n{_context(path, [])}\nValue: undefined\n"
                f"Validator: {self._describe()}"
            )
            raise ValidationError(message)
        try:
            return self._check(value, ctx, True)
        except _Mismatch as mismatch:
            raise ValidationError(mismatch.render(_context(path, mismatch.reversed_path))) from None

    def describe(self) -> str:
        """Convex's text for this validator, e.g. ``v.union(v.string(), v.null())``.

        An optional validator is shown as ``v.optional(...)``, as in an object.
        """
        inner = self._describe()
        return f"v.optional({inner})" if self.is_optional else inner

    def to_json(self) -> dict[str, Any]:
        """The validator in Convex's JSON form (as the npm package's ``.json``)."""
        raise NotImplementedError

    def field_validator(self, path: str) -> Validator | None:
        """The validator of the field at dotted ``path`` inside this one, if it is known.

        Objects resolve their fields; a union answers when all members that
        have the field agree. Other validators return None.
        """
        return None

    # -- internals for subclasses

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        """Return the canonical value or raise :class:`_Mismatch`.

        ``lenient`` allows the int64 meaning of a plain ``int``; unions try
        members without it first.
        """
        raise NotImplementedError

    def _describe(self) -> str:
        """Convex's text for this validator, ignoring ``is_optional``."""
        raise NotImplementedError

    def _as_optional(self) -> Validator:
        if self.is_optional:
            return self
        clone = copy.copy(self)
        clone.is_optional = True
        clone._key_cache = None
        return clone

    def _as_required(self) -> Validator:
        if not self.is_optional:
            return self
        clone = copy.copy(self)
        clone.is_optional = False
        clone._key_cache = None
        return clone

    def _key(self) -> str:
        key = self._key_cache
        if key is None:
            body = _stdlib_json.dumps(self.to_json(), sort_keys=True)
            key = self._key_cache = f"{int(self.is_optional)}{body}"
        return key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Validator):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return self.describe()


def _require_validator(candidate: object, context: str) -> Validator:
    if not isinstance(candidate, Validator):
        raise TypeError(f"{context} must be a validator, got {type(candidate).__name__}")
    return candidate


# --------------------------------------------------------------------------- leaves


class StringValidator(Validator):
    """``v.string()``: any string."""

    __slots__ = ()
    _exact = str

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        if type(value) is str:
            return value
        if isinstance(value, str):
            return str(value)
        raise _no_match(value, self)

    def _describe(self) -> str:
        return "v.string()"

    def to_json(self) -> dict[str, Any]:
        return {"type": "string"}


def _as_float(value: Any) -> float | None:
    """The float64 a number means (a plain int up to 2**53), or None."""
    if isinstance(value, bool) or isinstance(value, Int64):
        return None
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int) and abs(value) <= MAX_SAFE_INTEGER:
        return float(value)
    return None


class Float64Validator(Validator):
    """``v.number()`` / ``v.float64()``: any float64; a plain ``int`` up to 2**53 converts."""

    __slots__ = ()
    _exact = float

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        if type(value) is float:
            return value
        number = _as_float(value)
        if number is None:
            raise _no_match(value, self)
        return number

    def _describe(self) -> str:
        return "v.float64()"

    def to_json(self) -> dict[str, Any]:
        return {"type": "number"}


class Int64Validator(Validator):
    """``v.int64()``: an :class:`Int64`; a plain ``int`` converts (and must fit 64 bits)."""

    __slots__ = ()
    _exact = Int64

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        if type(value) is Int64:
            return value
        if lenient and isinstance(value, int) and not isinstance(value, bool):
            return Int64(value)
        raise _no_match(value, self)

    def _describe(self) -> str:
        return "v.int64()"

    def to_json(self) -> dict[str, Any]:
        return {"type": "bigint"}


class BooleanValidator(Validator):
    """``v.boolean()``: ``True`` or ``False``."""

    __slots__ = ()
    _exact = bool

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        if type(value) is bool:
            return value
        raise _no_match(value, self)

    def _describe(self) -> str:
        return "v.boolean()"

    def to_json(self) -> dict[str, Any]:
        return {"type": "boolean"}


class NullValidator(Validator):
    """``v.null()``: ``None``."""

    __slots__ = ()
    _exact = _NoneType

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        if value is None:
            return None
        raise _no_match(value, self)

    def _describe(self) -> str:
        return "v.null()"

    def to_json(self) -> dict[str, Any]:
        return {"type": "null"}


class BytesValidator(Validator):
    """``v.bytes()``: ``bytes`` (``bytearray`` and ``memoryview`` convert)."""

    __slots__ = ()
    _exact = bytes

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        if type(value) is bytes:
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise _no_match(value, self)

    def _describe(self) -> str:
        return "v.bytes()"

    def to_json(self) -> dict[str, Any]:
        return {"type": "bytes"}


class AnyValidator(Validator):
    """``v.any()``: any Convex value (normalized; a plain ``int`` becomes float64)."""

    __slots__ = ()

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        return normalize_value(value)

    def _describe(self) -> str:
        return "v.any()"

    def to_json(self) -> dict[str, Any]:
        return {"type": "any"}


class IdValidator(Validator):
    """``v.id(table_name)``: an ID of a document in ``table_name``.

    With a :class:`ValidationContext`, the string must be an ID of an existing
    table, and that table must be ``table_name``; without one, any string passes.
    """

    __slots__ = ("table_name",)

    def __init__(self, table_name: str, *, is_optional: bool = False) -> None:
        super().__init__(is_optional=is_optional)
        if not isinstance(table_name, str):
            raise TypeError("v.id(tableName) requires a string")
        problem = identifier_error(table_name)
        if problem is not None:
            raise SchemaError(problem)
        self.table_name = table_name

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        if type(value) is not str:
            if not isinstance(value, str):
                raise _no_match(value, self)
            value = str(value)
        if ctx is None:
            return value
        found = ctx.table_name_for_id(value)
        if found is None:
            raise _no_match(value, self)
        if found != self.table_name:
            expected = self.table_name
            if found.startswith("_"):
                raise _Mismatch(
                    lambda context: (
                        f'Found ID "{value}" from a system table, which does not match the '
                        f'table name in validator `v.id("{expected}")`.{context}'
                    )
                )
            raise _Mismatch(
                lambda context: (
                    f'Found ID "{value}" from table `{found}`, which does not match the table '
                    f'name in validator `v.id("{expected}")`.{context}'
                )
            )
        return value

    def _describe(self) -> str:
        return f'v.id("{self.table_name}")'

    def to_json(self) -> dict[str, Any]:
        return {"type": "id", "tableName": self.table_name}


def _literal_display(literal: Value) -> str:
    # Convex prints literals as JSON, with placeholders where JSON has no form.
    kind = type(literal)
    if kind is Int64:
        return "<bigint>"
    if kind is float:
        if literal - literal != 0.0:
            return "<number>"
        return format_json_float(literal)
    if kind is bool:
        return "true" if literal else "false"
    return _stdlib_json.dumps(literal, ensure_ascii=False)


class LiteralValidator(Validator):
    """``v.literal(value)``: exactly ``value`` (a string, float64, int64 or boolean).

    A plain ``int`` literal is a float64 literal (``v.literal(5)`` is 5.0);
    use ``v.literal(Int64(5))`` for an int64 one. Floats compare by bits, so
    ``0.0`` and ``-0.0`` differ and NaN equals NaN, as in Convex.
    """

    __slots__ = ("value",)

    def __init__(self, value: str | float | int | bool, *, is_optional: bool = False) -> None:
        super().__init__(is_optional=is_optional)
        canonical: Value
        if isinstance(value, bool):
            canonical = bool(value)
        elif isinstance(value, Int64):
            canonical = Int64(int(value))
        elif isinstance(value, str):
            canonical = str(value)
        elif isinstance(value, (int, float)):
            number = _as_float(value)
            if number is None:
                raise TypeError(
                    f"v.literal({value}) is not exactly representable as a float64; "
                    "use v.literal(Int64(...)) for a 64-bit integer."
                )
            canonical = number
        else:
            raise TypeError("v.literal(value) must be a string, number, or boolean")
        normalize_value(canonical)  # a lone surrogate is not a Convex string
        self.value: Value = canonical

    def _matches(self, value: Any, lenient: bool) -> bool:
        literal = self.value
        kind = type(literal)
        if kind is str:
            return isinstance(value, str) and value == literal
        if kind is bool:
            return type(value) is bool and value is literal
        if kind is float:
            number = value if type(value) is float else _as_float(value)
            return number is not None and _pack_f64(number) == _pack_f64(literal)
        # Int64 literal
        if type(value) is Int64:
            return int(value) == int(literal)
        return (
            lenient
            and isinstance(value, int)
            and not isinstance(value, bool)
            and int(value) == int(literal)
        )

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        if self._matches(value, lenient):
            return self.value
        literal = _literal_display(self.value)
        raise _Mismatch(
            lambda context: (
                f"`{display_value(value)}` does not match literal validator "
                f"`v.literal({literal})`.{context}"
            )
        )

    def _describe(self) -> str:
        return f"v.literal({_literal_display(self.value)})"

    def to_json(self) -> dict[str, Any]:
        return {"type": "literal", "value": encode_json(self.value)}


# --------------------------------------------------------------------------- containers


class ArrayValidator(Validator):
    """``v.array(element)``: a list whose elements all match ``element`` (tuples convert)."""

    __slots__ = ("element",)

    def __init__(self, element: Validator, *, is_optional: bool = False) -> None:
        super().__init__(is_optional=is_optional)
        self.element = _require_validator(element, "The element of v.array()")

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        if type(value) is not list:
            if not isinstance(value, (list, tuple)):
                raise _no_match(value, self)
            value = list(value)
        element = self.element
        exact = element._exact
        # All elements of the exact type: nothing to convert or check further.
        if exact is not None and (not value or set(map(type, value)) == {exact}):
            return value
        check = element._check
        out = []
        for index, item in enumerate(value):
            try:
                out.append(check(item, ctx, lenient))
            except _Mismatch as mismatch:
                mismatch.reversed_path.append(f"[{index}]")
                raise
        return out

    def _describe(self) -> str:
        return f"v.array({self.element._describe()})"

    def to_json(self) -> dict[str, Any]:
        return {"type": "array", "value": self.element.to_json()}


def _string_like(validator: Validator) -> bool:
    """Whether every value of ``validator`` is a string (Convex's ``is_subset(v.string())``)."""
    if isinstance(validator, (StringValidator, IdValidator)):
        return True
    if isinstance(validator, LiteralValidator):
        return type(validator.value) is str
    if isinstance(validator, UnionValidator):
        return all(_string_like(member) for member in validator.members)
    return False


def _has_string_literal(validator: Validator) -> bool:
    if isinstance(validator, LiteralValidator):
        return type(validator.value) is str
    if isinstance(validator, UnionValidator):
        return any(_has_string_literal(member) for member in validator.members)
    return False


class RecordValidator(Validator):
    """``v.record(keys, values)``: an object with any keys matching ``keys``.

    ``keys`` must be string-like (``v.string()``, ``v.id(...)`` or a union of
    those; not string literals) and ``values`` must not be optional.
    """

    __slots__ = ("keys", "values")

    def __init__(self, keys: Validator, values: Validator, *, is_optional: bool = False) -> None:
        super().__init__(is_optional=is_optional)
        keys = _require_validator(keys, "The key of v.record()")
        values = _require_validator(values, "The value of v.record()")
        if keys.is_optional:
            raise SchemaError("Record validator cannot have optional keys")
        if values.is_optional:
            raise SchemaError("Record validator cannot have optional values")
        if not _string_like(keys):
            raise SchemaError(
                "Records can only have string keys. Your validator contains a record with key "
                f"typed as `{keys._describe()}`, which is not a subtype of `v.string()`"
            )
        if _has_string_literal(keys):
            raise SchemaError("Records cannot have string literal keys")
        self.keys = keys
        self.values = values

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        if type(value) is not dict:
            raise _no_match(value, self)
        key_check = self.keys._check
        value_check = self.values._check
        out: dict[str, Value] = {}
        # Convex walks the object in key order, so the first failure is the
        # smallest failing key.
        for key, item in sorted(value.items(), key=_item_key):
            if type(item) is Undefined:
                continue
            try:
                checked_key = key_check(key, ctx, lenient)
            except _Mismatch as mismatch:
                mismatch.reversed_path.append(".keys()")
                raise
            try:
                out[checked_key] = value_check(item, ctx, lenient)
            except _Mismatch as mismatch:
                mismatch.reversed_path.append(".values()")
                raise
        return out

    def _describe(self) -> str:
        return f"v.record({self.keys._describe()}, {self.values._describe()})"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "record",
            "keys": self.keys.to_json(),
            "values": {"fieldType": self.values.to_json(), "optional": False},
        }


def _check_object_field_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"v.object() field names must be strings, got {type(name).__name__}")
    problem = field_name_error(name) or identifier_error(name)
    if problem is not None:
        raise SchemaError(problem)
    return str(name)


class ObjectValidator(Validator):
    """``v.object({...})``: an object with exactly these fields (optional ones may be missing).

    Field names must be identifiers. ``fields`` keeps the order given.
    """

    __slots__ = ("_entries", "_fields")

    def __init__(self, fields: Mapping[str, Validator], *, is_optional: bool = False) -> None:
        super().__init__(is_optional=is_optional)
        checked: dict[str, Validator] = {}
        for name, validator in fields.items():
            checked[_check_object_field_name(name)] = _require_validator(
                validator, f'The validator for field "{name}" in v.object()'
            )
        self._fields = checked
        # Convex checks fields in name order; precompute what the loop needs.
        self._entries = tuple(
            (name, validator._check, validator.is_optional, validator._exact)
            for name, validator in sorted(checked.items())
        )

    @property
    def fields(self) -> Mapping[str, Validator]:
        """The field validators by name (read-only, in the order given)."""
        return MappingProxyType(self._fields)

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        if type(value) is not dict:
            raise _no_match(value, self)
        out: dict[str, Value] = {}
        present = 0
        get = value.get
        for name, check, optional, exact in self._entries:
            item = get(name, _MISSING)
            if item is _MISSING or type(item) is Undefined:
                if item is not _MISSING:
                    present += 1
                if optional:
                    continue
                raise self._missing(value, name)
            present += 1
            if exact is not None and type(item) is exact:
                out[name] = item
                continue
            try:
                out[name] = check(item, ctx, lenient)
            except _Mismatch as mismatch:
                mismatch.reversed_path.append(f".{name}")
                raise
        if present != len(value):
            self._reject_extra(value)
        return out

    def _missing(self, value: dict[str, Any], name: str) -> _Mismatch:
        return _Mismatch(
            lambda context: (
                f"Object is missing the required field `{name}`. Consider wrapping the field "
                f"validator in `v.optional(...)` if this is expected.\n{context}\n"
                f"Object: {display_value(value)}\nValidator: {self._describe()}"
            )
        )

    def _reject_extra(self, value: dict[Any, Any]) -> None:
        extra = [
            key
            for key, item in value.items()
            if key not in self._fields and type(item) is not Undefined
        ]
        if not extra:
            return
        for key in extra:
            if type(key) is not str:
                normalize_value({key: None})  # raises InvalidValueError naming the key
        name = min(extra)
        raise _Mismatch(
            lambda context: (
                f"Object contains extra field `{name}` that is not in the validator.\n"
                f"{context}\nObject: {display_value(value)}\nValidator: {self._describe()}"
            )
        )

    def _describe(self) -> str:
        fields = ", ".join(
            f"{name}: {validator.describe()}" for name, validator in sorted(self._fields.items())
        )
        return "v.object({" + fields + "})"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "object",
            "value": {
                name: {"fieldType": validator.to_json(), "optional": validator.is_optional}
                for name, validator in self._fields.items()
            },
        }

    def field_validator(self, path: str) -> Validator | None:
        head, _, rest = path.partition(".")
        found = self._fields.get(head)
        if found is None:
            return None
        found = found._as_required()
        return found.field_validator(rest) if rest else found

    # -- the npm package's object helpers

    def pick(self, *keys: str) -> ObjectValidator:
        """A new object validator with only ``keys`` (each must be a field)."""
        picked: dict[str, Validator] = {}
        for key in keys:
            if key not in self._fields:
                raise SchemaError(
                    f'A validator is undefined for field "{key}" in v.object(): '
                    f"{self._describe()} has no field `{key}` to pick."
                )
            picked[key] = self._fields[key]
        return ObjectValidator(picked, is_optional=self.is_optional)

    def omit(self, *keys: str) -> ObjectValidator:
        """A new object validator without ``keys`` (unknown keys are ignored)."""
        dropped = set(keys)
        kept = {name: value for name, value in self._fields.items() if name not in dropped}
        return ObjectValidator(kept, is_optional=self.is_optional)

    def extend(self, fields: Mapping[str, Validator]) -> ObjectValidator:
        """A new object validator with ``fields`` added (replacing same-named ones)."""
        return ObjectValidator({**self._fields, **fields}, is_optional=self.is_optional)

    def partial(self) -> ObjectValidator:
        """A new object validator with every field optional."""
        return ObjectValidator(
            {name: value._as_optional() for name, value in self._fields.items()},
            is_optional=self.is_optional,
        )


class UnionValidator(Validator):
    """``v.union(*members)``: a value matching any member (none: matches nothing).

    The first member that accepts the value gives the result; a plain ``int``
    is tried with its float64 meaning on every member before the int64 one.
    """

    __slots__ = ("members",)

    def __init__(self, members: Iterable[Validator], *, is_optional: bool = False) -> None:
        super().__init__(is_optional=is_optional)
        self.members: tuple[Validator, ...] = tuple(
            _require_validator(member, f"Member {index} of v.union()")
            for index, member in enumerate(members)
        )

    def _check(self, value: Any, ctx: ValidationContext | None, lenient: bool) -> Value:
        members = self.members
        if len(members) == 1:
            # Convex reports a one-member union's failure as the member's own.
            return members[0]._check(value, ctx, lenient)
        for member in members:
            try:
                return member._check(value, ctx, False)
            except _Mismatch:
                pass
        if lenient:
            for member in members:
                try:
                    return member._check(value, ctx, True)
                except _Mismatch:
                    pass
        raise _no_match(value, self)

    def _describe(self) -> str:
        return "v.union(" + ", ".join(member._describe() for member in self.members) + ")"

    def to_json(self) -> dict[str, Any]:
        return {"type": "union", "value": [member.to_json() for member in self.members]}

    def field_validator(self, path: str) -> Validator | None:
        found = {
            candidate
            for candidate in (member.field_validator(path) for member in self.members)
            if candidate is not None
        }
        return found.pop() if len(found) == 1 else None


# --------------------------------------------------------------------------- v


class _V:
    """The ``v`` namespace: constructors of validators, named as in Convex."""

    __slots__ = ()

    @staticmethod
    def string() -> StringValidator:
        """Any string."""
        return _STRING

    @staticmethod
    def number() -> Float64Validator:
        """Any float64 (alias of :meth:`float64`)."""
        return _FLOAT64

    @staticmethod
    def float64() -> Float64Validator:
        """Any float64; a plain ``int`` up to 2**53 converts."""
        return _FLOAT64

    @staticmethod
    def int64() -> Int64Validator:
        """Any int64; a plain ``int`` converts."""
        return _INT64

    @staticmethod
    def bigint() -> Int64Validator:
        """Deprecated alias of :meth:`int64`, as in Convex."""
        return _INT64

    @staticmethod
    def boolean() -> BooleanValidator:
        """``True`` or ``False``."""
        return _BOOLEAN

    @staticmethod
    def null() -> NullValidator:
        """``None``."""
        return _NULL

    @staticmethod
    def bytes() -> BytesValidator:
        """Any ``bytes``."""
        return _BYTES

    @staticmethod
    def any() -> AnyValidator:
        """Any Convex value."""
        return _ANY

    @staticmethod
    def id(table_name: str) -> IdValidator:
        """An ID of a document in ``table_name``."""
        return IdValidator(table_name)

    @staticmethod
    def literal(value: str | float | int | bool) -> LiteralValidator:
        """Exactly ``value``."""
        return LiteralValidator(value)

    @staticmethod
    def array(element: Validator) -> ArrayValidator:
        """A list of values matching ``element``."""
        return ArrayValidator(element)

    @staticmethod
    def object(
        fields: Mapping[str, Validator] | None = None, /, **more: Validator
    ) -> ObjectValidator:
        """An object with exactly these fields: ``v.object({"a": v.string()})`` or
        ``v.object(a=v.string())``."""
        return ObjectValidator({**(fields or {}), **more})

    @staticmethod
    def record(keys: Validator, values: Validator) -> RecordValidator:
        """An object with arbitrary keys matching ``keys`` and values matching ``values``."""
        return RecordValidator(keys, values)

    @staticmethod
    def union(*members: Validator) -> UnionValidator:
        """A value matching any of ``members``."""
        return UnionValidator(members)

    @staticmethod
    def optional(validator: Validator) -> Validator:
        """``validator`` as an optional object field."""
        return _require_validator(validator, "The argument of v.optional()")._as_optional()

    @staticmethod
    def nullable(validator: Validator) -> UnionValidator:
        """``validator`` or ``None`` (shorthand for ``v.union(validator, v.null())``)."""
        return UnionValidator((validator, _NULL))


_STRING: Final = StringValidator()
_FLOAT64: Final = Float64Validator()
_INT64: Final = Int64Validator()
_BOOLEAN: Final = BooleanValidator()
_NULL: Final = NullValidator()
_BYTES: Final = BytesValidator()
_ANY: Final = AnyValidator()

#: The validator constructors: ``v.string()``, ``v.object({...})``, ...
v: Final = _V()


# --------------------------------------------------------------------------- from JSON


def validator_from_json(obj: Any) -> Validator:
    """Build a validator from Convex's JSON form (the inverse of :meth:`Validator.to_json`).

    Follows the server's parsing rules (``crates/common/src/schemas/json.rs``):
    ``map`` and ``set`` read as ``any``, object field names must be
    identifiers, record keys string-like and record values required.

    Raises:
        SchemaError: ``obj`` is not a valid validator description.
    """
    if not isinstance(obj, Mapping) or not isinstance(obj.get("type"), str):
        raise SchemaError(f"Invalid validator JSON: {obj!r}")
    kind = obj["type"]
    simple: dict[str, Validator] = {
        "null": _NULL,
        "number": _FLOAT64,
        "bigint": _INT64,
        "boolean": _BOOLEAN,
        "string": _STRING,
        "bytes": _BYTES,
        "any": _ANY,
        "map": _ANY,
        "set": _ANY,
    }
    if kind in simple:
        return simple[kind]
    try:
        if kind == "literal":
            value = decode_json(obj["value"])
            if type(value) not in (str, float, bool, Int64):
                raise SchemaError(f"Value {display_value(value)} is not a valid literal.")
            return LiteralValidator(value)
        if kind == "id":
            return IdValidator(obj["tableName"])
        if kind == "array":
            return ArrayValidator(validator_from_json(obj["value"]))
        if kind == "record":
            values = obj["values"]
            value_validator = validator_from_json(values["fieldType"])
            if values.get("optional"):
                raise SchemaError("Records cannot have optional values")
            return RecordValidator(validator_from_json(obj["keys"]), value_validator)
        if kind == "object":
            fields: dict[str, Validator] = {}
            for name, field in obj["value"].items():
                _check_object_field_name(name)
                try:
                    field_validator = validator_from_json(field["fieldType"])
                except SchemaError as error:
                    raise SchemaError(
                        f"Invalid validator for key `{name}`: {error.message}"
                    ) from None
                fields[name] = (
                    field_validator._as_optional() if field.get("optional") else field_validator
                )
            return ObjectValidator(fields)
        if kind == "union":
            return UnionValidator(validator_from_json(member) for member in obj["value"])
    except (KeyError, TypeError, AttributeError) as error:
        raise SchemaError(f"Invalid validator JSON for type {kind!r}: {error}") from None
    raise SchemaError(f"Unknown validator type {kind!r}")
