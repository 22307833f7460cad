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
from pyconvex.values.ids import decode_id
from pyconvex.values.model import Value

__all__ = [
    "FILTER_OPERATORS",
    "SCHEDULED_FUNCTIONS_TABLE",
    "FieldFilter",
    "cancel_scheduled_function",
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
SCHEDULED_FUNCTIONS_TABLE: Final = "_scheduled_functions"
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
    """Every table with its document count, indexes and schema validator, by name.

    Counting scans the table, so it stops at ``count_limit`` (default:
    ``knobs.ADMIN_COUNT_LIMIT``) and reports ``countIsExact: false`` beyond it.

    Returns:
        ``[{"name", "system", "count", "countIsExact", "indexes": [{"name",
        "fields", "state"}], "documentType": validator JSON or None}]``.
    """
    limit = knobs.ADMIN_COUNT_LIMIT if count_limit is None else count_limit
    state = database.state
    tables = []
    for table in sorted(state.catalog.tables.values(), key=lambda t: t.name):
        system = table.name in SYSTEM_TABLES or table.name.startswith("_")
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
) -> dict[str, Any]:
    """One page of a table's documents in ``index`` order, at the newest snapshot.

    A table that does not exist has no documents. Filters are applied while
    scanning (like ``query.filter``); a page that had to read too many rows to
    fill up ends early with ``isDone: false`` and a cursor to continue from.

    Returns:
        ``{"page", "isDone", "continueCursor", "ts"}``; ``ts`` is the snapshot read.

    Raises:
        QueryError: an unknown index, a bad field path, or a cursor of another query.
    """
    transaction = database.begin(writable=False)
    query = QueryInitializer(transaction, table, sync=True).with_index(index).order(order)
    if filters:
        query = query.filter(lambda q: _filter_expression(q, filters))
    page = query.paginate({"numItems": num_items, "cursor": cursor})
    return {
        "page": page["page"],
        "isDone": page["isDone"],
        "continueCursor": page["continueCursor"],
        "ts": transaction.begin_ts,
    }


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


def cancel_scheduled_function(database: Database, job_id: str, *, now_ms: float) -> dict[str, Any]:
    """Cancel a pending scheduled function: its ``state`` becomes ``{"kind": "canceled"}``.

    A job that is not pending (running, finished, already canceled) is left as
    it is, as ``ctx.scheduler.cancel`` does. ``completedTime`` is set to
    ``now_ms`` with the cancellation.

    Returns:
        The job's row after the call.

    Raises:
        DocumentError: ``job_id`` is not a scheduled function that exists.
    """

    def cancel(transaction: Transaction) -> dict[str, Any]:
        row = _scheduled_job(transaction, job_id)
        state = row.get("state")
        if not isinstance(state, dict) or state.get("kind") != "pending":
            return row
        transaction.system_writes = True
        transaction.patch(job_id, {"state": {"kind": "canceled"}, "completedTime": now_ms})
        updated = transaction.get(job_id, system=True)
        assert updated is not None
        return updated

    return write_with_retries(database, cancel)


def _scheduled_job(transaction: Transaction, job_id: str) -> dict[str, Any]:
    try:
        number, _ = decode_id(job_id)
    except Exception:
        raise DocumentError(f"Invalid scheduled function ID: {job_id!r}") from None
    table = transaction.table(SCHEDULED_FUNCTIONS_TABLE)
    row = transaction.get(job_id, system=True) if table and table.number == number else None
    if row is None:
        raise DocumentError(f'Scheduled function "{job_id}" not found')
    return row


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
