"""Admin access to a deployment's data, outside any function: what the dashboard reads and writes.

Reads run at the newest snapshot; writes run in their own transaction, with
the same schema validation as ``ctx.db`` in a mutation, and are retried on an
OCC conflict like a mutation. Values are Convex values (the server decodes and
encodes the wire JSON). Nothing here is reachable from app functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import pyconvex.knobs as knobs
from pyconvex.database.catalog import BY_CREATION_TIME, BY_ID, SYSTEM_TABLES, TableInfo
from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.database.filters import FilterBuilder
from pyconvex.database.query import QueryInitializer
from pyconvex.database.transaction import Transaction
from pyconvex.errors import DocumentError, QueryError
from pyconvex.values.model import Value

__all__ = [
    "FILTER_OPERATORS",
    "FieldFilter",
    "delete_document",
    "insert_document",
    "list_tables",
    "page_documents",
    "patch_document",
    "replace_document",
    "write_with_retries",
]

#: Comparisons a :class:`FieldFilter` may use (those of ``query.filter``).
FILTER_OPERATORS: Final = frozenset({"eq", "neq", "lt", "lte", "gt", "gte"})
_LOWER_BOUNDS: Final = ("gt", "gte")
_UPPER_BOUNDS: Final = ("lt", "lte")
#: Writes by the dashboard are named so in OCC conflict messages.
ORIGIN: Final = "dashboard"
_WRITE_ATTEMPTS = 10

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """Keep documents whose (dotted) ``field`` compares to ``value`` with ``operator``."""

    field: str
    operator: str
    value: Value

    def __post_init__(self) -> None:
        if self.operator not in FILTER_OPERATORS:
            raise QueryError(
                f"Unknown filter operator {self.operator!r}: use one of "
                + ", ".join(sorted(FILTER_OPERATORS))
            )


# -- reading --------------------------------------------------------------------


def list_tables(
    database: Database, *, include_system: bool = False, count_limit: int | None = None
) -> list[dict[str, Any]]:
    """Every table with its document count, indexes and schema validator.

    User tables come first, then (with ``include_system``) system tables, each by name.

    Counting scans the table, so it stops at ``count_limit`` (default:
    ``knobs.ADMIN_COUNT_LIMIT``) and reports ``countIsExact: false`` beyond it.

    Returns:
        ``[{"name", "system", "count", "countIsExact", "indexes": [{"name",
        "fields", "state"}], "documentType": validator JSON or None}]``.
    """
    limit = knobs.ADMIN_COUNT_LIMIT if count_limit is None else count_limit
    state = database.state
    tables = []
    for table in sorted(state.catalog.tables.values(), key=lambda t: (_is_system(t.name), t.name)):
        system = _is_system(table.name)
        if system and not include_system:
            continue
        count = _count(database, table, state.ts, limit)
        definition = state.schema.tables.get(table.name) if state.schema else None
        tables.append(
            {
                "name": table.name,
                "system": system,
                "count": min(count, limit),
                "countIsExact": count <= limit,
                "indexes": [
                    {"name": i.name, "fields": list(i.fields), "state": i.state.value}
                    for i in table.indexes.values()
                    if i.name != BY_ID
                ],
                "documentType": definition.validator.to_json() if definition else None,
            }
        )
    return tables


def _is_system(name: str) -> bool:
    return name in SYSTEM_TABLES or name.startswith("_")


def _count(database: Database, table: TableInfo, ts: int, limit: int) -> int:
    index = table.indexes[BY_CREATION_TIME]
    count = 0
    for _ in database.persistence.index_scan(index.index_id, b"", None, ts):
        count += 1
        if count > limit:
            break
    return count


def page_documents(
    database: Database,
    table: str,
    *,
    index: str = BY_CREATION_TIME,
    order: str = "desc",
    cursor: str | None = None,
    num_items: int = 50,
    filters: Sequence[FieldFilter] = (),
    maximum_rows_read: int | None = None,
) -> dict[str, Any]:
    """One page of a table's documents in ``index`` order, at the newest snapshot.

    A table that does not exist has no documents. Filters that an index can
    answer become its range: ``eq`` filters on a prefix of the index's fields,
    then one lower and one upper bound on the next field (so listing the
    pending jobs reads only those, in time order). The others are applied
    while scanning (like ``query.filter``); a page that had to read too many
    rows (``maximum_rows_read``, default the transaction's limit) to fill up
    ends early with ``isDone: false`` and a cursor to continue from.

    Returns:
        ``{"page", "isDone", "continueCursor", "ts"}``; ``ts`` is the snapshot read.

    Raises:
        QueryError: an unknown index, a bad field path, or a cursor of another query.
    """
    transaction = database.begin(writable=False)
    info = transaction.table(table)
    found = info.indexes.get(index) if info is not None else None
    ranged, rest = _split_filters(found.key_fields if found else (), filters)
    query = QueryInitializer(transaction, table, sync=True).with_index(
        index, _index_range(ranged) if ranged else None
    )
    query = query.order(order)
    if rest:
        query = query.filter(lambda q: _filter_expression(q, rest))
    options: dict[str, Any] = {"numItems": num_items, "cursor": cursor}
    if maximum_rows_read is not None:
        options["maximumRowsRead"] = maximum_rows_read
    page = query.paginate(options)
    return {
        "page": page["page"],
        "isDone": page["isDone"],
        "continueCursor": page["continueCursor"],
        "ts": transaction.begin_ts,
    }


def _split_filters(
    key_fields: Sequence[str], filters: Sequence[FieldFilter]
) -> tuple[list[FieldFilter], list[FieldFilter]]:
    """``(filters the index range answers, in range order; the others)``."""
    rest = list(filters)
    ranged: list[FieldFilter] = []
    for field in key_fields:
        equal = next((f for f in rest if f.field == field and f.operator == "eq"), None)
        if equal is None:
            # Bounds on this field end the range (an index range allows one of each).
            for bounds in (_LOWER_BOUNDS, _UPPER_BOUNDS):
                bound = next((f for f in rest if f.field == field and f.operator in bounds), None)
                if bound is not None:
                    ranged.append(bound)
                    rest.remove(bound)
            break
        ranged.append(equal)
        rest.remove(equal)
    return ranged, rest


def _index_range(ranged: Sequence[FieldFilter]) -> Callable[[Any], Any]:
    def build(q: Any) -> Any:
        for f in ranged:
            q = getattr(q, f.operator)(f.field, f.value)
        return q

    return build


def _filter_expression(q: FilterBuilder, filters: Sequence[FieldFilter]) -> Any:
    clauses = [getattr(q, f.operator)(q.field(f.field), f.value) for f in filters]
    return clauses[0] if len(clauses) == 1 else q.and_(*clauses)


# -- writing --------------------------------------------------------------------


def insert_document(database: Database, table: str, value: dict[str, Value]) -> str:
    """Insert a document into a user table (creating the table); return its ``_id``.

    Raises:
        SchemaValidationError: the document does not match the table's schema.
        DocumentError: a system table, system fields, or an invalid table name.
    """
    return write_with_retries(database, lambda transaction: transaction.insert(table, value))


def patch_document(database: Database, document_id: str, value: dict[str, Value]) -> None:
    """Shallow-merge ``value`` into a document of a user table.

    Raises:
        SchemaValidationError: the result does not match the table's schema.
        DocumentError: no such document, or a system table.
    """
    write_with_retries(database, lambda transaction: transaction.patch(document_id, value))


def replace_document(database: Database, document_id: str, value: dict[str, Value]) -> None:
    """Replace a document's fields (its ``_id`` and ``_creationTime`` stay).

    Raises:
        SchemaValidationError: ``value`` does not match the table's schema.
        DocumentError: no such document, or a system table.
    """
    write_with_retries(database, lambda transaction: transaction.replace(document_id, value))


def delete_document(database: Database, document_id: str) -> None:
    """Delete a document of a user table.

    Raises:
        DocumentError: no such document, or a system table.
    """
    write_with_retries(database, lambda transaction: transaction.delete(document_id))


def write_with_retries(database: Database, operation: Callable[[Transaction], T]) -> T:
    """Run ``operation`` in a new writable transaction and commit it; return its result.

    On an OCC conflict the operation runs again in a fresh transaction.

    Raises:
        DocumentError: it conflicted on every attempt.
    """
    for _ in range(_WRITE_ATTEMPTS):
        transaction = database.begin(writable=True)
        result = operation(transaction)
        try:
            database.commit(transaction, origin=ORIGIN).result()
        except CommitConflict:
            continue  # something it read changed meanwhile: run it again
        return result
    raise DocumentError("The document kept changing while it was being written; try again.")
