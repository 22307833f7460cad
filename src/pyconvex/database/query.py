"""Queries: ``ctx.db.query(table)`` with index ranges, filters, order and terminals.

A query is a source (an index range, or the whole table in creation order),
any number of filters, an order, and one terminal: ``collect``, ``take``,
``first``, ``unique``, ``paginate`` or async iteration. Filters run before any
limit, so ``filter(...).first()`` finds the first matching document.

Each query records the part of its index range it actually consumed in the
transaction's read set: from the start of the range to the last row scanned,
or the whole range when it was exhausted. That is what lets a concurrent
insert right after a ``take(10)`` window leave the query (and its mutation)
undisturbed, while an insert inside the window conflicts.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pyconvex.knobs as knobs
from pyconvex.database.catalog import BY_CREATION_TIME, IndexInfo, IndexState, TableInfo
from pyconvex.database.filters import Expression, compile_filter, matches
from pyconvex.database.index_range import IndexRange, IndexRangeBuilder, compile_index_range
from pyconvex.database.transaction import Transaction
from pyconvex.errors import InvalidCursorError, QueryError
from pyconvex.values.model import Value, normalize_value
from pyconvex.values.validators import ObjectValidator, Validator

__all__ = ["Immediate", "Query", "QueryInitializer", "paginate_page_status"]

#: Pages longer than this recommend a split (75 % of the 8192-element array limit).
SOFT_MAX_PAGE_LEN = 6144
_CURSOR_VERSION = 1
_END = b"\x00"
_AFTER = b"\x01"


class Immediate:
    """An already-computed result that can be awaited, like a resolved JS promise.

    Database calls run eagerly (as JavaScript's do); async handlers ``await``
    the result, sync handlers get the plain value instead.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return self.value
        yield  # pragma: no cover - makes this a generator function


def deliver(value: Any, sync: bool) -> Any:
    """Return ``value`` itself for sync callers, or an :class:`Immediate` to await."""
    return value if sync else Immediate(value)


class _Scan:
    """Tracks how far one index scan got, to record exactly that interval."""

    def __init__(self, index: IndexInfo, start: bytes, end: bytes | None, reverse: bool) -> None:
        self.index = index
        self.start = start
        self.end = end
        self.reverse = reverse
        self.last_key: bytes | None = None
        self.exhausted = False

    def observed(self) -> tuple[bytes, bytes | None] | None:
        if self.exhausted:
            return self.start, self.end
        if self.last_key is None:
            return None
        if self.reverse:
            return self.last_key, self.end
        return self.start, self.last_key + b"\x00"


@dataclass(frozen=True)
class _Plan:
    table: TableInfo | None
    table_name: str
    index: IndexInfo | None
    index_range: IndexRange
    reverse: bool
    filters: tuple[Expression, ...]

    def fingerprint(self) -> bytes:
        description = {
            "table": self.table_name,
            "index": self.index.name if self.index else BY_CREATION_TIME,
            "fields": list(self.index.key_fields) if self.index else [],
            "range": self.index_range.to_json(),
            "order": "desc" if self.reverse else "asc",
            "filters": [f.to_json() for f in self.filters],
        }
        text = json.dumps(description, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).digest()[:8]


class Query:
    """A query under construction; every method returns a new query.

    A query object can be chained or consumed only once, as in Convex.
    """

    def __init__(
        self, transaction: Transaction, plan: _Plan, order_set: bool = False, sync: bool = False
    ) -> None:
        self._transaction = transaction
        self._plan = plan
        self._order_set = order_set
        self._used = False
        self._sync = sync

    def _take_over(self) -> _Plan:
        if self._used:
            raise QueryError(
                "A query can only be chained once and can't be chained after iteration begins."
            )
        self._used = True
        return self._plan

    def order(self, order: str) -> Query:
        """Order by the index: ``"asc"`` (the default) or ``"desc"``."""
        if order not in ("asc", "desc"):
            raise QueryError(f'order must be "asc" or "desc", got {order!r}')
        if self._order_set:
            raise QueryError("Queries may only specify order at most once")
        plan = self._take_over()
        return Query(
            self._transaction,
            _Plan(
                plan.table,
                plan.table_name,
                plan.index,
                plan.index_range,
                order == "desc",
                plan.filters,
            ),
            True,
            self._sync,
        )

    def filter(self, predicate: Callable[[Any], Any]) -> Query:
        """Keep only documents for which ``predicate(q)`` evaluates to true."""
        expression = compile_filter(predicate)
        plan = self._take_over()
        filters = plan.filters if expression is None else (*plan.filters, expression)
        if len(filters) > 256:
            raise QueryError("Too many filters on this query (limit: 256).")
        new_plan = _Plan(
            plan.table, plan.table_name, plan.index, plan.index_range, plan.reverse, filters
        )
        return Query(self._transaction, new_plan, self._order_set, self._sync)

    # -- terminals ------------------------------------------------------------
    # Each runs eagerly; see Immediate. The return type is the value for sync
    # handlers and an awaitable of it for async ones.

    def collect(self) -> Any:
        """Every matching document."""
        return deliver(list(self._documents(self._take_over())), self._sync)

    def take(self, n: int) -> Any:
        """The first ``n`` matching documents."""
        if isinstance(n, bool) or not isinstance(n, (int, float)) or n < 0 or n != int(n):
            raise QueryError(
                f"take() requires a non-negative integer: {n!r} must be a non-negative integer"
            )
        plan = self._take_over()
        out: list[dict[str, Value]] = []
        if n > 0:
            for document in self._documents(plan):
                out.append(document)
                if len(out) >= n:
                    break
        return deliver(out, self._sync)

    def first(self) -> Any:
        """The first matching document, or None."""
        found = None
        for document in self._documents(self._take_over()):
            found = document
            break
        return deliver(found, self._sync)

    def unique(self) -> Any:
        """The only matching document, None if there is none; an error if several match."""
        plan = self._take_over()
        found: list[dict[str, Value]] = []
        for document in self._documents(plan):
            found.append(document)
            if len(found) == 2:
                ids = ", ".join(str(d["_id"]) for d in found)
                raise QueryError(
                    f"unique() query returned more than one result from table "
                    f"{plan.table_name}:\n [{ids}, ...]"
                )
        return deliver(found[0] if found else None, self._sync)

    def __aiter__(self) -> AsyncIterator[dict[str, Value]]:
        if self._used:
            raise QueryError("Iteration can only begin on a query once.")
        return self._iterate(self._take_over())

    async def _iterate(self, plan: _Plan) -> AsyncIterator[dict[str, Value]]:
        for document in self._documents(plan):
            yield document

    def __iter__(self) -> Iterator[dict[str, Value]]:
        if self._used:
            raise QueryError("Iteration can only begin on a query once.")
        return self._documents(self._take_over())

    def paginate(self, options: dict[str, Any]) -> Any:
        """One page of results, in the shape ``usePaginatedQuery`` reads.

        Args:
            options: the client's ``paginationOpts``, camelCase as on the wire:
                ``numItems``, ``cursor`` (None for the first page), optional
                ``endCursor``, ``maximumRowsRead``, ``maximumBytesRead``; ``id`` is ignored.

        Returns:
            ``{"page", "isDone", "continueCursor", "splitCursor", "pageStatus"}``.
        """
        plan = self._take_over()
        page = _paginate(self._transaction, plan, _PageOptions.parse(options))
        return deliver(page, self._sync)

    # -- the pipeline -----------------------------------------------------------

    def _documents(self, plan: _Plan) -> Iterator[dict[str, Value]]:
        for _, document in self._rows(plan, plan.index_range.start, plan.index_range.end):
            yield document

    def _rows(
        self, plan: _Plan, start: bytes, end: bytes | None
    ) -> Iterator[tuple[bytes, dict[str, Value]]]:
        return _rows(self._transaction, plan, start, end)


def _rows(
    transaction: Transaction, plan: _Plan, start: bytes, end: bytes | None
) -> Iterator[tuple[bytes, dict[str, Value]]]:
    if plan.table is None or plan.index is None:
        return
    scan = _Scan(plan.index, start, end, plan.reverse)
    transaction.open_scan(scan)
    for key, document in transaction.scan(plan.table, plan.index, start, end, reverse=plan.reverse):
        scan.last_key = key
        if all(matches(expression, document) for expression in plan.filters):
            yield key, document
    scan.exhausted = True


class QueryInitializer(Query):
    """``ctx.db.query(table)``: choose an index, or use the query methods directly.

    Without :meth:`with_index` the query scans the whole table in creation
    order (the built-in ``by_creation_time`` index).
    """

    def __init__(self, transaction: Transaction, table_name: str, *, sync: bool = False) -> None:
        table = transaction.table(table_name)
        index = table.indexes[BY_CREATION_TIME] if table else None
        everything = IndexRange(b"", None, ())
        plan = _Plan(table, table_name, index, everything, False, ())
        super().__init__(transaction, plan, sync=sync)

    def full_table_scan(self) -> Query:
        """Scan the whole table in creation order."""
        plan = self._take_over()
        return Query(self._transaction, plan, sync=self._sync)

    def with_index(
        self, index_name: str, index_range: Callable[[IndexRangeBuilder], Any] | None = None
    ) -> Query:
        """Read through index ``index_name``, limited to the range ``index_range`` builds.

        Raises:
            QueryError: the index does not exist, is still backfilling, or the
                range breaks the rules of Convex's index range expressions.
        """
        plan = self._take_over()
        table = plan.table
        index = table.indexes.get(index_name) if table else None
        if table is not None and index is None:
            raise QueryError(f"Index {plan.table_name}.{index_name} not found.")
        if index is not None and index.state is IndexState.BACKFILLING:
            raise QueryError(
                f"Index {plan.table_name}.{index_name} is currently backfilling and not "
                "available to query yet."
            )
        builder: Any = None
        if index_range is not None:
            builder = index_range(IndexRangeBuilder())
            if builder is None:
                raise QueryError(
                    f"The index range function for {plan.table_name}.{index_name} returned "
                    'None; it must return the range, e.g. lambda q: q.eq("field", value)'
                )
        fields = index.key_fields if index else ("_creationTime", "_id")
        compiled = compile_index_range(
            builder,
            table=plan.table_name,
            index_name=index_name,
            index_fields=list(fields),
            coerce=_coercer(self._transaction, plan.table_name),
        )
        new_plan = _Plan(table, plan.table_name, index, compiled, False, ())
        return Query(self._transaction, new_plan, sync=self._sync)

    def with_search_index(self, index_name: str, search: Callable[[Any], Any]) -> Query:
        """Full-text search (not available yet in this version of pyconvex)."""
        raise QueryError(
            f"Search index {self._plan.table_name}.{index_name}: full-text search is not "
            "implemented yet in pyconvex."
        )


def _coercer(transaction: Transaction, table: str) -> Callable[[str, Any], Value] | None:
    """Coerce index-range values with the schema's field validators.

    A plain Python ``int`` compared with a ``v.int64()`` field must become an
    Int64 (otherwise it is a float64 and matches nothing); the field's own
    validator knows. Values it rejects fall back to the default conversion.
    """
    schema = transaction.schema
    validator = schema.validator_for(table) if schema else None
    if validator is None:
        return None

    def coerce(path: str, value: Any) -> Value:
        field_validator = _field_validator(validator, path) if type(value) is int else None
        if field_validator is not None:
            try:
                return field_validator.validate(value, "", None)
            except Exception:
                pass
        return normalize_value(value)

    return coerce


def _field_validator(validator: Validator, path: str) -> Validator | None:
    for part in path.split("."):
        if not isinstance(validator, ObjectValidator):
            return None
        found = validator.fields.get(part)
        if found is None:
            return None
        validator = found
    return validator


@dataclass(frozen=True, slots=True)
class _PageOptions:
    num_items: int
    cursor: str | None
    end_cursor: str | None
    maximum_rows_read: int | None
    maximum_bytes_read: int | None

    @classmethod
    def parse(cls, options: dict[str, Any]) -> _PageOptions:
        if not isinstance(options, dict):
            raise QueryError("paginate() takes the paginationOpts object: {numItems, cursor}")
        num_items = _whole_number(options.get("numItems"), "numItems")
        if num_items is None:
            raise QueryError("paginationOpts.numItems is required")
        if num_items <= 0:
            raise QueryError("Must request at least 1 document while paginating")
        if num_items > knobs.PAGINATION_MAX_ITEMS:
            raise QueryError(f"Requested too many items: {num_items}")
        rows = _whole_number(options.get("maximumRowsRead"), "maximumRowsRead")
        size = _whole_number(options.get("maximumBytesRead"), "maximumBytesRead")
        if rows == 0 or size == 0:
            raise QueryError("maximumRowsRead and maximumBytesRead must be greater than 0")
        cursor = options.get("cursor")
        end_cursor = options.get("endCursor")
        for name, value in (("cursor", cursor), ("endCursor", end_cursor)):
            if value is not None and not isinstance(value, str):
                raise QueryError(f"paginationOpts.{name} must be a string or null")
        return cls(num_items, cursor, end_cursor, rows, size)


def _whole_number(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise QueryError(f"paginationOpts.{name} must be a whole number, got {value!r}")
    return int(value)


def _encode_cursor(fingerprint: bytes, key: bytes | None) -> str:
    body = bytes([_CURSOR_VERSION]) + fingerprint + (_END if key is None else _AFTER + key)
    return base64.urlsafe_b64encode(body).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str, fingerprint: bytes) -> bytes | None:
    """Return the key the cursor is after, or None for the end of the range."""
    try:
        body = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError):
        raise InvalidCursorError(f"Failed to parse cursor: {cursor!r}") from None
    if len(body) < 10 or body[0] != _CURSOR_VERSION or body[9:10] not in (_END, _AFTER):
        raise InvalidCursorError(f"Failed to parse cursor: {cursor!r}")
    if body[1:9] != fingerprint:
        raise InvalidCursorError(
            "InvalidCursor: Tried to run a query starting from a cursor, but it looks like "
            "this cursor is from a different query."
        )
    return None if body[9:10] == _END else body[10:]


def paginate_page_status(
    scanned_rows: int,
    scanned_bytes: int,
    page_len: int,
    max_rows: int,
    max_bytes: int,
) -> str | None:
    """``"SplitRecommended"`` when a page is close to a read limit or very long."""
    if scanned_rows > 0.75 * max_rows or scanned_bytes > 0.75 * max_bytes:
        return "SplitRecommended"
    if page_len > SOFT_MAX_PAGE_LEN:
        return "SplitRecommended"
    return None


def _paginate(transaction: Transaction, plan: _Plan, options: _PageOptions) -> dict[str, Any]:
    if transaction.paginated:
        raise QueryError(
            "This query or mutation function ran multiple paginated queries. Convex only "
            "supports a single paginated query in each function."
        )
    transaction.paginated = True
    fingerprint = plan.fingerprint()
    start, end = plan.index_range.start, plan.index_range.end
    if options.cursor is not None:
        after = _decode_cursor(options.cursor, fingerprint)
        if after is None:
            return _page_result([], True, _encode_cursor(fingerprint, None), None, None)
        if plan.reverse:
            end = min(end, after) if end is not None else after
        else:
            start = max(start, after + b"\x00")
    if options.end_cursor is None and transaction.previous_end_cursor is not None:
        # A re-run of a subscribed page keeps the end it was first served with
        # (Convex's query journal), so pages grow and shrink but never gap.
        options = replace(options, end_cursor=transaction.previous_end_cursor)
    end_key: bytes | None = None
    has_end = options.end_cursor is not None
    if options.end_cursor is not None:
        end_key = _decode_cursor(options.end_cursor, fingerprint)
        if end_key is not None:
            if plan.reverse:
                start = max(start, end_key)
            else:
                bound = end_key + b"\x00"
                end = bound if end is None else min(end, bound)
    if end is not None and start >= end:
        continue_cursor = options.end_cursor or _encode_cursor(fingerprint, None)
        done = end_key is None
        return _page_result([], done, continue_cursor, None, None)
    return _read_page(transaction, plan, options, start, end, fingerprint, has_end)


def _read_page(
    transaction: Transaction,
    plan: _Plan,
    options: _PageOptions,
    start: bytes,
    end: bytes | None,
    fingerprint: bytes,
    has_end: bool,
) -> dict[str, Any]:
    limits = transaction.limits
    max_rows = options.maximum_rows_read or limits.max_read_rows
    max_bytes = options.maximum_bytes_read or limits.max_read_bytes
    rows_before = transaction.usage.rows_read
    bytes_before = transaction.usage.bytes_read
    page: list[tuple[bytes, dict[str, Value]]] = []
    last_key: bytes | None = None
    status: str | None = None
    exhausted = True
    scan = _Scan(plan.index, start, end, plan.reverse) if plan.index else None
    if plan.table is not None and plan.index is not None and scan is not None:
        transaction.open_scan(scan)
        source = transaction.scan(plan.table, plan.index, start, end, reverse=plan.reverse)
        for key, document in source:
            scan.last_key = last_key = key
            if all(matches(expression, document) for expression in plan.filters):
                page.append((key, document))
            if not has_end and len(page) >= options.num_items:
                exhausted = False
                break
            read_rows = transaction.usage.rows_read - rows_before
            read_bytes = transaction.usage.bytes_read - bytes_before
            if not has_end and (read_rows >= max_rows or read_bytes >= max_bytes):
                exhausted = False
                status = "SplitRequired"
                break
        else:
            scan.exhausted = True
    if has_end:
        continue_cursor = options.end_cursor
        assert continue_cursor is not None
        done = _decode_cursor(continue_cursor, fingerprint) is None
    elif exhausted:
        continue_cursor, done = _encode_cursor(fingerprint, None), True
    else:
        continue_cursor, done = _encode_cursor(fingerprint, last_key), False
    if status is None and not has_end:
        status = paginate_page_status(
            transaction.usage.rows_read - rows_before,
            transaction.usage.bytes_read - bytes_before,
            len(page),
            max_rows,
            max_bytes,
        )
    split = None
    if status is not None and len(page) >= 2:
        split = _encode_cursor(fingerprint, page[len(page) // 2 - 1][0])
    transaction.page_end_cursor = continue_cursor
    documents = [document for _, document in page]
    return _page_result(documents, done, continue_cursor, split, status)


def _page_result(
    page: list[dict[str, Value]],
    is_done: bool,
    continue_cursor: str,
    split_cursor: str | None,
    page_status: str | None,
) -> dict[str, Any]:
    return {
        "page": page,
        "isDone": is_done,
        "continueCursor": continue_cursor,
        "splitCursor": split_cursor,
        "pageStatus": page_status,
    }
