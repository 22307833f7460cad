"""Sizes, structural limits and name rules of Convex values.

* :func:`convex_size` measures a value exactly as Convex does (``getConvexSize``
  in ``npm-packages/convex/src/values/size.ts``, ``Size`` in
  ``crates/value``): null and booleans 1 byte, int64 and float64 9, a string
  or bytes 2 + its length in bytes, an array 2 + its elements, an object 2 +
  for each field ``len(name) + 1 + size(value)``. ``UNDEFINED`` fields count 0.
* :func:`check_document` enforces what Convex enforces on a stored document,
  :func:`check_function_value` what it enforces on function arguments and
  return values (array length, field count, field names, nesting, size).
* :func:`is_valid_identifier` / :func:`check_identifier` are the identifier
  rule of table names, index names and ``v.object`` field names;
  :func:`field_name_error` / :func:`check_field_names` the rule for any object key.

Every limit comes from :mod:`pyconvex.knobs`, read at call time. Errors are
:class:`~pyconvex.errors.InvalidValueError` with Convex's message texts.

Nesting is counted as Convex counts it: a scalar is 0 deep, an array or object
one more than its deepest element, so ``{"a": 1}`` is 1 and ``[[[]]]`` is 3.
"""

from __future__ import annotations

from typing import Any, Final

import pyconvex.knobs as knobs
from pyconvex.errors import InvalidValueError
from pyconvex.values.model import Int64, Undefined, Value, value_type

__all__ = [
    "MAX_FIELD_NAME_LEN",
    "MAX_IDENTIFIER_LEN",
    "SYSTEM_FIELDS",
    "check_document",
    "check_field_names",
    "check_function_value",
    "check_identifier",
    "convex_size",
    "field_name_error",
    "format_size",
    "identifier_error",
    "is_valid_field_name",
    "is_valid_identifier",
    "nesting",
]

#: Longest object key (any level of any value).
MAX_FIELD_NAME_LEN: Final = 1024
#: Longest identifier (table, index and ``v.object`` field names).
MAX_IDENTIFIER_LEN: Final = 64
#: The top-level fields the system sets; the only top-level names allowed to start with ``_``.
SYSTEM_FIELDS: Final = frozenset({"_id", "_creationTime"})

_NoneType = type(None)


# --------------------------------------------------------------------------- names


def _rust_char_debug(char: str) -> str:
    # Rust's ``{:?}`` for a char, as Convex prints it in name errors.
    escapes = {"\0": "\\0", "\t": "\\t", "\r": "\\r", "\n": "\\n", "'": "\\'", "\\": "\\\\"}
    if char in escapes:
        return f"'{escapes[char]}'"
    if char.isprintable():
        return f"'{char}'"
    return f"'\\u{{{ord(char):x}}}'"


def field_name_error(name: object) -> str | None:
    """Return Convex's complaint about an object key, or None if it is a valid field name.

    Valid: a string of non-control ASCII characters (space to ``~``), at most
    1024 long, not starting with ``$``. The empty string is valid (as in Convex).
    """
    if type(name) is not str:
        return f"Object keys must be strings, got {type(name).__name__} {name!r}."
    if name.startswith("$"):
        return f"Field name {name} starts with '$', which is reserved."
    for char in name:
        if not " " <= char <= "~":
            return (
                f"Field name {name} has invalid character {_rust_char_debug(char)}: "
                "Field names can only contain non-control ASCII characters"
            )
    if len(name) > MAX_FIELD_NAME_LEN:
        return f"Field name is too long ({len(name)} > maximum {MAX_FIELD_NAME_LEN})"
    return None


def is_valid_field_name(name: object) -> bool:
    """Return whether ``name`` may be a key of a Convex object."""
    return field_name_error(name) is None


def check_field_names(obj: dict[Any, Any]) -> int:
    """Check every key of ``obj`` and return their total length.

    Raises:
        InvalidValueError: a key is not a valid field name (Convex's message).
    """
    # One C-level pass over all keys at once covers the common case; only a
    # suspicious object pays for the per-key checks that name the culprit.
    try:
        joined = "".join(obj)
    except TypeError:
        joined = None
    if (
        joined is not None
        and joined.isascii()
        and joined.isprintable()
        and "$" not in joined
        and (len(joined) <= MAX_FIELD_NAME_LEN or max(map(len, obj)) <= MAX_FIELD_NAME_LEN)
    ):
        return len(joined)
    for key in obj:
        problem = field_name_error(key)
        if problem is not None:
            raise InvalidValueError(problem)
    # Only a "$" inside a key (which is allowed) gets here.
    return sum(map(len, obj))


def identifier_error(name: object) -> str | None:
    """Return Convex's complaint about an identifier, or None if ``name`` is one.

    An identifier starts with an ASCII letter or ``_``, continues with ASCII
    letters, digits and ``_``, is at most 64 characters and is not all
    underscores (``crates/convex/sync_types/src/identifier.rs``). Whether a
    leading ``_`` is allowed (it is not for user tables) is the caller's rule.
    """
    if type(name) is not str:
        return f"Identifier must be a string, got {type(name).__name__} {name!r}"
    if not name:
        return "Identifier cannot be empty"
    first = name[0]
    if not (first.isascii() and first.isalpha()) and first != "_":
        return (
            f"Invalid first character {_rust_char_debug(first)} in {name}: Identifiers must "
            "start with an alphabetic character or underscore"
        )
    for char in name:
        if not (char.isascii() and char.isalnum()) and char != "_":
            return (
                f"Identifier {name} has invalid character {_rust_char_debug(char)}: Identifiers "
                "can only contain alphanumeric characters or underscores"
            )
    if len(name) > MAX_IDENTIFIER_LEN:
        return f"Identifier is too long ({len(name)} > maximum {MAX_IDENTIFIER_LEN})"
    if name.strip("_") == "":
        return f"Identifier {name} cannot have exclusively underscores"
    return None


def is_valid_identifier(name: object) -> bool:
    """Return whether ``name`` is a Convex identifier (see :func:`identifier_error`)."""
    return identifier_error(name) is None


def check_identifier(name: object) -> None:
    """Raise unless ``name`` is a Convex identifier (see :func:`identifier_error`).

    Raises:
        InvalidValueError: with Convex's message.
    """
    problem = identifier_error(name)
    if problem is not None:
        raise InvalidValueError(problem)


# --------------------------------------------------------------------------- size


def _utf8_len(text: str) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidValueError(
            f"String {text[:60]!r} is not valid Unicode (it contains a lone surrogate)."
        ) from None


def convex_size(value: Value) -> int:
    """Return the size of ``value`` in bytes as Convex measures it (``getConvexSize``).

    Raises:
        InvalidValueError: ``value`` is not a Convex value.
    """
    kind = type(value)
    if kind is str:
        return 2 + (len(value) if value.isascii() else _utf8_len(value))
    if kind is float or kind is Int64:
        return 9
    if kind is bool or value is None:
        return 1
    if kind is dict:
        size = 2
        for key, item in value.items():
            if type(item) is not Undefined:
                size += convex_size(key) - 1 + convex_size(item)
        return size
    if kind is list:
        return 2 + sum(map(convex_size, value))
    if kind is bytes:
        return 2 + len(value)
    if kind is Undefined:
        return 0
    return _size_other(value)


def _size_other(value: Any) -> int:
    # Non-canonical forms measure like what they normalize to.
    if isinstance(value, bool):
        return 1
    if isinstance(value, (int, float)):
        return 9
    if isinstance(value, (bytearray, memoryview)):
        return 2 + len(bytes(value))
    if isinstance(value, tuple):
        return 2 + sum(map(convex_size, value))
    if isinstance(value, str):
        return convex_size(str(value))
    if isinstance(value, dict):
        return convex_size(dict(value))
    if isinstance(value, list):
        return convex_size(list(value))
    value_type(value)  # raises InvalidValueError with the model's message
    raise AssertionError("unreachable")  # pragma: no cover


def nesting(value: Value) -> int:
    """Return how deeply ``value`` nests: 0 for scalars, 1 + the deepest element for containers."""
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    if isinstance(value, (list, tuple)):
        return 1 + max(map(nesting, value), default=0)
    return 0


def format_size(size: int) -> str:
    """Format a byte count as Convex does in limit errors (humansize ``BINARY``).

    ``1048576`` → ``1 MiB``, ``1048577`` → ``1.00 MiB``, ``500`` → ``500 B``.
    """
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
    scaled = float(size)
    index = 0
    while abs(scaled) >= 1024.0 and index < len(units) - 1:
        scaled /= 1024.0
        index += 1
    places = 0 if scaled == int(scaled) else 2
    return f"{scaled:.{places}f} {units[index]}"


# --------------------------------------------------------------------------- checks


class _TooNested(Exception):
    """Raised out of the walk as soon as a container is deeper than the hard limit."""


class _Walk:
    """One pass over a value: measures it and checks the structural limits."""

    __slots__ = ("array_max", "deepest", "fields_max", "nesting_max")

    def __init__(self, nesting_max: int) -> None:
        self.nesting_max = nesting_max
        self.array_max = knobs.ARRAY_MAX_ELEMENTS
        self.fields_max = knobs.OBJECT_MAX_FIELDS
        self.deepest = 0

    def value(self, value: Any, depth: int) -> int:
        kind = type(value)
        if kind is str:
            return 2 + (len(value) if value.isascii() else _utf8_len(value))
        if kind is float or kind is Int64:
            return 9
        if kind is bool or value is None:
            return 1
        if kind is dict:
            return self.object(value, depth + 1)
        if kind is list:
            return self.array(value, depth + 1)
        if kind is bytes:
            return 2 + len(value)
        if kind is Undefined:
            raise InvalidValueError("undefined is not a valid Convex value.")
        if isinstance(value, tuple):
            return self.array(list(value), depth + 1)
        return _size_other(value)

    def _enter(self, depth: int) -> None:
        if depth > self.deepest:
            self.deepest = depth
            if depth > self.nesting_max:
                raise _TooNested

    def object(self, obj: dict[Any, Any], depth: int) -> int:
        self._enter(depth)
        if len(obj) > self.fields_max:
            raise InvalidValueError(
                f"Object has too many fields ({len(obj)} > maximum number {self.fields_max})"
            )
        # Each field costs its name, a separator byte and its value.
        size = 2 + check_field_names(obj) + len(obj)
        for key, item in obj.items():
            kind = type(item)
            if kind is str:
                size += 2 + (len(item) if item.isascii() else _utf8_len(item))
            elif kind is float or kind is Int64:
                size += 9
            elif kind is bool or kind is _NoneType:
                size += 1
            elif kind is Undefined:
                # A field set to undefined does not exist (JavaScript drops it).
                size -= len(key) + 1
            else:
                size += self.value(item, depth)
        return size

    def array(self, items: list[Any], depth: int) -> int:
        self._enter(depth)
        if len(items) > self.array_max:
            raise InvalidValueError(
                f"Array length is too long ({len(items)} > maximum length {self.array_max})"
            )
        size = 2
        for item in items:
            kind = type(item)
            if kind is str:
                size += 2 + (len(item) if item.isascii() else _utf8_len(item))
            elif kind is float or kind is Int64:
                size += 9
            elif kind is bool or kind is _NoneType:
                size += 1
            elif kind is Undefined:
                raise InvalidValueError(
                    "undefined is not a valid Convex value (found in an array)."
                )
            else:
                size += self.value(item, depth)
        return size


def _walk(value: Value, nesting_max: int) -> tuple[int, int]:
    """Measure ``value`` and check its structure; return ``(size, nesting)``."""
    walk = _Walk(nesting_max)
    try:
        size = walk.value(value, 0)
    except _TooNested:
        # Convex builds values bottom-up and rejects the first container that
        # goes one level too deep, so the reported depth is always limit + 1.
        raise InvalidValueError(
            f"Value is too nested (nested {nesting_max + 1} levels deep > maximum nesting "
            f"{nesting_max})"
        ) from None
    return size, walk.deepest


def _check_size(size: int, limit: int) -> None:
    if size > limit:
        raise InvalidValueError(
            f"Value is too large ({format_size(size)} > maximum size {format_size(limit)})"
        )


def check_document(value: dict[str, Value]) -> int:
    """Check a document about to be stored; return its size.

    Convex's rules, in Convex's order: array lengths, field counts, field
    names and nesting (at most 64) of the value; then document nesting
    (``knobs.DOCUMENT_MAX_NESTING``) and no top-level field starting with ``_``
    other than ``_id``/``_creationTime``; then size (``knobs.VALUE_MAX_BYTES``,
    measured over everything passed in, so pass the system fields to count them).
    Strings must be valid Unicode.

    Raises:
        InvalidValueError: a rule is broken (Convex's message).
    """
    if type(value) is not dict:
        raise InvalidValueError(
            f"A document must be an object, not {value_type(value).name.lower()}."
        )
    size, depth = _walk(value, knobs.FUNCTION_MAX_NESTING)
    if depth > knobs.DOCUMENT_MAX_NESTING:
        raise InvalidValueError(
            f"Document is too nested (nested {depth} levels deep > maximum nesting "
            f"{knobs.DOCUMENT_MAX_NESTING})"
        )
    for key in value:
        # ``"_" <= key < "`"`` is ``key.startswith("_")`` without a method call.
        if "_" <= key < "`" and key not in SYSTEM_FIELDS:
            raise InvalidValueError(
                f"Field '{key}' starts with an underscore, which is only allowed for system "
                "fields like '_id'"
            )
    _check_size(size, knobs.VALUE_MAX_BYTES)
    return size


def check_function_value(value: Value, *, max_bytes: int | None = None) -> int:
    """Check a function argument or return value; return its size.

    Array lengths, field counts and field names as for documents; nesting at
    most ``knobs.FUNCTION_MAX_NESTING`` ("Value is too nested"); size at most
    ``max_bytes`` (default ``knobs.FUNCTION_ARGS_MAX_BYTES``). Keys starting
    with ``_`` are fine here. Convex passes arguments as a one-element array,
    which adds a level: pass ``[args]`` to reproduce that exactly.

    Raises:
        InvalidValueError: a rule is broken (Convex's message).
    """
    size, _ = _walk(value, knobs.FUNCTION_MAX_NESTING)
    _check_size(size, knobs.FUNCTION_ARGS_MAX_BYTES if max_bytes is None else max_bytes)
    return size
