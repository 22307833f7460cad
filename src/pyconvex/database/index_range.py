"""The ``with_index`` range language, compiled to a range of index keys.

A range is written with an :class:`IndexRangeBuilder`::

    query.with_index("by_a_b", lambda q: q.eq("a", 1).gt("b", 2))

and :func:`compile_index_range` turns it into an :class:`IndexRange`: a
half-open interval of :func:`~pyconvex.values.ordering.encode_key` byte keys
over the index's full key (declared fields, then ``_creationTime`` and
``_id``). The rules and their error messages are those of Convex's
``IndexRange::compile`` (``crates/common/src/query.rs``, semantics.md 2.2):
equalities on a prefix of the index fields (in any order), then at most one
lower and one upper bound, both on the next field.

As in Convex, the builder itself only records calls (and refuses to be used
twice, like ``IndexRangeBuilderImpl``); every other check happens when the
range is compiled against the index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pyconvex.database.field_paths import validate_field_path
from pyconvex.database.filters import format_value
from pyconvex.errors import QueryError
from pyconvex.values.model import UNDEFINED, Undefined, Value, normalize_value
from pyconvex.values.ordering import encode_key, encode_value, prefix_successor

__all__ = ["IndexRange", "IndexRangeBuilder", "compile_index_range"]

_DOCS_LINK: Final = "https://docs.convex.dev/using/indexes"


class IndexRangeBuilder:
    """The ``q`` of a ``with_index`` range function: ``eq`` calls, then ``gt``/``lt`` bounds.

    Each call returns a new builder and uses up the one it was called on, so
    ranges must be written as one chain (``q.eq("a", 1).lt("b", 5)``).
    """

    __slots__ = ("_expressions", "_used")

    def __init__(self) -> None:
        self._expressions: tuple[tuple[str, str, Any], ...] = ()
        self._used = False

    def eq(self, field: str, value: Any) -> IndexRangeBuilder:
        """Restrict ``field`` to equal ``value`` (UNDEFINED: the field is missing)."""
        return self._then("Eq", field, value)

    def gt(self, field: str, value: Any) -> IndexRangeBuilder:
        """Lower bound: ``field > value``."""
        return self._then("Gt", field, value)

    def gte(self, field: str, value: Any) -> IndexRangeBuilder:
        """Lower bound: ``field >= value``."""
        return self._then("Gte", field, value)

    def lt(self, field: str, value: Any) -> IndexRangeBuilder:
        """Upper bound: ``field < value``."""
        return self._then("Lt", field, value)

    def lte(self, field: str, value: Any) -> IndexRangeBuilder:
        """Upper bound: ``field <= value``."""
        return self._then("Lte", field, value)

    def _then(self, op: str, field: str, value: Any) -> IndexRangeBuilder:
        self._use()
        following = IndexRangeBuilder()
        following._expressions = (*self._expressions, (op, field, value))
        return following

    def _use(self) -> None:
        # Catches `q.eq(...); return q.gt(...)`, which would drop the eq.
        if self._used:
            raise QueryError(
                "IndexRangeBuilder has already been used! Chain your method calls like "
                f"`q => q.eq(...).eq(...)`. See {_DOCS_LINK}"
            )
        self._used = True

    def _export(self) -> tuple[tuple[str, str, Any], ...]:
        self._use()
        return self._expressions

    def __repr__(self) -> str:
        calls = "".join(
            f".{op.lower()}({field!r}, {value!r})" for op, field, value in self._expressions
        )
        return f"q{calls}"


@dataclass(frozen=True, slots=True)
class IndexRange:
    """A half-open interval ``[start, end)`` of encoded index keys.

    Attributes:
        start: the smallest key in the range (inclusive).
        end: the first key past the range (exclusive); None if unbounded.
        expressions: the normalized range as ``(op, field, value hex)`` triples:
            equalities in index order, then the lower and the upper bound.
    """

    start: bytes
    end: bytes | None
    expressions: tuple[tuple[str, str, str], ...] = ()

    def contains(self, key: bytes) -> bool:
        """Return whether the encoded index ``key`` lies in the range."""
        return self.start <= key and (self.end is None or key < self.end)

    def is_empty(self) -> bool:
        """Return whether no key can lie in the range (e.g. ``gt 5`` with ``lt 3``)."""
        return self.end is not None and self.end <= self.start

    def to_json(self) -> list[list[str]]:
        """Return a stable JSON description (``[op, field, value hex]`` lists) for fingerprints.

        Equivalent ranges written in a different order describe the same way.
        """
        return [list(expression) for expression in self.expressions]


def compile_index_range(
    builder: IndexRangeBuilder | None,
    *,
    table: str,
    index_name: str,
    index_fields: Sequence[str],
    coerce: Callable[[str, Any], Value] | None = None,
) -> IndexRange:
    """Check a range against its index and compute the interval of keys it selects.

    Args:
        builder: what the range function returned; None when there is no range
            function (the whole index).
        table: the table name, for error messages.
        index_name: the index name, for error messages.
        index_fields: every key field in order: the declared fields, then
            ``_creationTime`` and ``_id`` (just ``["_id"]`` for ``by_id``).
        coerce: turns a field's value into a canonical value (the engine
            makes plain ints int64 for ``v.int64()`` fields); defaults to
            :func:`~pyconvex.values.model.normalize_value`. UNDEFINED is never
            passed to it.

    Returns:
        The range. ``builder`` is used up.

    Raises:
        QueryError: the range does not fit the index, or the builder was reused
            (Convex's messages).
        InvalidValueError: a value is not a Convex value.
    """
    if builder is None:
        return IndexRange(start=b"", end=None)
    if not isinstance(builder, IndexRangeBuilder):
        raise QueryError(
            "The index range function must return the builder chain it was given, like "
            f"`lambda q: q.eq(...).gt(...)`, not {type(builder).__name__} {builder!r}."
        )
    # Paths and values are parsed before any range rule is checked, as Convex
    # parses the whole query before compiling it.
    expressions = []
    for op, field, value in builder._export():
        path = validate_field_path(field)
        expressions.append((op, path, _canonical(path, value, coerce)))
    index = f"{table}.{index_name}"
    return _compile(_split(expressions, index), index, list(index_fields))


def _canonical(path: str, value: Any, coerce: Callable[[str, Any], Value] | None) -> Any:
    if value is UNDEFINED:
        return UNDEFINED
    return coerce(path, value) if coerce is not None else normalize_value(value)


@dataclass(frozen=True, slots=True)
class _Bound:
    op: str
    value: Value | Undefined


@dataclass(slots=True)
class _SplitRange:
    equalities: dict[str, Value | Undefined]
    field: str | None = None
    lower: _Bound | None = None
    upper: _Bound | None = None


_COMPARATORS: Final = {"Gt": ">", "Gte": ">=", "Lt": "<", "Lte": "<="}


def _split(expressions: list[tuple[str, str, Any]], index: str) -> _SplitRange:
    """Sort the expressions into equalities and one inequality, as ``IndexRange::split``."""
    split = _SplitRange(equalities={})
    for op, path, value in expressions:
        if op == "Eq":
            if path in split.equalities:
                # Convex reports the value already recorded, not the new one.
                raise _already_defined("equality", path, "==", split.equalities[path])
            split.equalities[path] = value
            continue
        is_upper = op in ("Lt", "Lte")
        if (split.upper if is_upper else split.lower) is not None:
            bound_type = "upper" if is_upper else "lower"
            raise _already_defined(bound_type, path, _COMPARATORS[op], value)
        if split.field is not None and split.field != path:
            raise QueryError(
                "Upper and lower bounds in `range` can only be applied to a single index field. "
                f"This query against index {index} attempted to set a range bound on both "
                f'"{split.field}" and "{path}". Consider using `filter` instead. '
                f"See {_DOCS_LINK} for more info."
            )
        split.field = path
        if is_upper:
            split.upper = _Bound(op, value)
        else:
            split.lower = _Bound(op, value)
    if split.field is not None and split.field in split.equalities:
        raise _already_defined("inequality", split.field, "==", split.equalities[split.field])
    return split


def _already_defined(bound_type: str, path: str, comparator: str, value: Any) -> QueryError:
    return QueryError(
        f"Already defined {bound_type} bound in index range. "
        f'Can\'t add "{path}" {comparator} {format_value(value)}.'
    )


def _compile(split: _SplitRange, index: str, index_fields: list[str]) -> IndexRange:
    """Check the split range against the index and build its interval (``IndexRange::compile``)."""
    rank = {field: position for position, field in enumerate(index_fields)}
    # Convex keeps equalities in a map ordered by path segments, so that is the
    # order in which unknown fields are reported.
    for path in sorted(split.equalities, key=_path_order):
        if path not in rank:
            raise _not_in_index(path, index, index_fields)
    if split.field is not None and split.field not in rank:
        raise _not_in_index(split.field, index, index_fields)
    equalities = sorted(split.equalities, key=rank.__getitem__)
    used = equalities + ([split.field] if split.field is not None else [])
    for position, path in enumerate(used):
        if index_fields[position] != path:
            raise QueryError(
                f"Tried to query index {index} but the query didn't use the index fields "
                "in order.\n"
                f"Index fields: {_display_fields(_declared(index_fields))}\n"
                f"Query fields: {_display_fields(used)}\n"
                f'First incorrect field: "{path}"\n'
                f"For more information see {_DOCS_LINK}."
            )
    prefix = encode_key(split.equalities[path] for path in equalities)
    start, end = _interval(prefix, split.lower, split.upper)
    described = [("Eq", path, split.equalities[path]) for path in equalities]
    for bound in (split.lower, split.upper):
        if bound is not None:
            assert split.field is not None
            described.append((bound.op, split.field, bound.value))
    return IndexRange(
        start=start,
        end=end,
        expressions=tuple((op, path, encode_value(value).hex()) for op, path, value in described),
    )


def _interval(
    prefix: bytes, lower: _Bound | None, upper: _Bound | None
) -> tuple[bytes, bytes | None]:
    # Encodings are prefix-free, so "every key extending P" is [P, successor(P)).
    if lower is None:
        start = prefix
    else:
        bound = prefix + encode_value(lower.value)
        # gt skips every key whose field equals the value, i.e. the whole bound prefix.
        start = bound if lower.op == "Gte" else _successor(bound)
    if upper is None:
        end = prefix_successor(prefix)
    else:
        bound = prefix + encode_value(upper.value)
        end = bound if upper.op == "Lt" else _successor(bound)
    return start, end


def _successor(key: bytes) -> bytes:
    following = prefix_successor(key)
    # Every encoded value starts with a type tag below 0xFF, so a successor exists.
    assert following is not None
    return following


def _not_in_index(path: str, index: str, index_fields: list[str]) -> QueryError:
    return QueryError(
        f'The index range included a comparison with "{path}", but {index} with fields '
        f"{_display_fields(_declared(index_fields))} doesn't index this field. "
        f"For more information see {_DOCS_LINK}."
    )


def _declared(index_fields: list[str]) -> list[str]:
    # Convex prints IndexedFields, which holds every field but the trailing _id.
    return index_fields[:-1] if index_fields and index_fields[-1] == "_id" else index_fields


def _display_fields(fields: list[str]) -> str:
    return "[" + ", ".join(f'"{field}"' for field in fields) + "]"


def _path_order(path: str) -> tuple[bytes, ...]:
    return tuple(segment.encode("utf-8") for segment in path.split("."))
