"""Dotted field paths: validating them and reading them out of documents.

A field path such as ``"a.b.c"`` names a value inside a document through a
chain of object keys. Index definitions, ``with_index`` range expressions and
the filter language's ``q.field(...)`` all use them. As in Convex
(``crates/value/src/field_path.rs``, ``ConvexObject::get_path``), paths only
step into objects: a missing key, or a non-object (array, string, ...) part way
along, reads as :data:`~pyconvex.values.model.UNDEFINED`.

:func:`get_field` runs for every index field of every written document, so it
does no validation; user-supplied paths go through :func:`validate_field_path`
once, when the index, range or filter is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from pyconvex.errors import PyConvexError, QueryError
from pyconvex.values.model import UNDEFINED, Undefined, Value

__all__ = ["get_field", "validate_field_path"]

#: Longest path segment (Convex ``MAX_IDENTIFIER_LEN``).
_MAX_IDENTIFIER_LENGTH = 64
#: Longest object key (Convex ``MAX_FIELD_NAME_LENGTH``); checked before the identifier rules.
_MAX_FIELD_NAME_LENGTH = 1024
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_ALNUM = _ASCII_LETTERS | frozenset("0123456789")


def get_field(document: Mapping[str, Value], path: str) -> Value | Undefined:
    """Return the value at a dotted ``path`` in ``document``, or UNDEFINED if there is none.

    ``path`` must already be in the form :func:`validate_field_path` returns.
    """
    if "." not in path:
        return document.get(path, UNDEFINED)
    value: Value = document
    for part in _split(path):
        # Only objects are traversed, never arrays (Convex ``get_path``).
        if type(value) is not dict:
            return UNDEFINED
        value = value.get(part, UNDEFINED)
    return value


@lru_cache(maxsize=4096)
def _split(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def validate_field_path(path: str, *, error: type[PyConvexError] = QueryError) -> str:
    """Check a dotted field path against Convex's rules and return its canonical form.

    Like Convex's ``FieldPath::from_str``, leading and trailing dots are
    ignored (``".a.b."`` is ``"a.b"``), and every segment must be a valid object
    key (non-control ASCII, not starting with ``$``, at most 1024 characters)
    and an identifier (a letter or ``_`` first, then letters, digits and ``_``;
    at most 64 characters; not all underscores).

    Args:
        path: the path as the developer wrote it.
        error: the exception class to raise; callers validating a schema pass
            their own (the default suits query building).

    Returns:
        The path with surrounding dots removed.

    Raises:
        QueryError: (or ``error``) the path is not valid, with Convex's message.
    """
    if type(path) is not str:
        raise error(f"Field paths must be strings, got {type(path).__name__} {path!r}.")
    trimmed = path.strip(".")
    if not trimmed:
        raise error(f"Empty path {path}")
    for segment in trimmed.split("."):
        problem = _field_name_problem(segment) or _identifier_problem(segment)
        if problem is not None:
            raise error(problem)
    return trimmed


def _field_name_problem(name: str) -> str | None:
    # Same checks, order and wording as Convex ``check_valid_field_name``.
    if name.startswith("$"):
        return f"Field name {name} starts with '$', which is reserved."
    for char in name:
        if not char.isascii() or _is_ascii_control(char):
            return (
                f"Field name {name} has invalid character {_debug_char(char)}: Field names can "
                "only contain non-control ASCII characters"
            )
    if len(name) > _MAX_FIELD_NAME_LENGTH:
        return f"Field name is too long ({len(name)} > maximum {_MAX_FIELD_NAME_LENGTH})"
    return None


def _identifier_problem(name: str) -> str | None:
    # Same checks, order and wording as Convex ``check_valid_identifier``.
    if not name:
        return "Identifier cannot be empty"
    first = name[0]
    if first not in _ASCII_LETTERS and first != "_":
        return (
            f"Invalid first character {_debug_char(first)} in {name}: Identifiers must start "
            "with an alphabetic character or underscore"
        )
    for char in name[1:]:
        if char not in _ASCII_ALNUM and char != "_":
            return (
                f"Identifier {name} has invalid character {_debug_char(char)}: Identifiers can "
                "only contain alphanumeric characters or underscores"
            )
    if len(name) > _MAX_IDENTIFIER_LENGTH:
        return f"Identifier is too long ({len(name)} > maximum {_MAX_IDENTIFIER_LENGTH})"
    if not name.strip("_"):
        return f"Identifier {name} cannot have exclusively underscores"
    return None


def _is_ascii_control(char: str) -> bool:
    return char < " " or char == "\x7f"


_CHAR_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\", "'": "\\'", "\0": "\\0"}


def _debug_char(char: str) -> str:
    """Quote a character the way Rust's ``{:?}`` does (``'-'``, ``'\\n'``, ``'\\u{7f}'``)."""
    escaped = _CHAR_ESCAPES.get(char)
    if escaped is None:
        escaped = char if char.isprintable() else f"\\u{{{ord(char):x}}}"
    return f"'{escaped}'"
