"""Transactions: snapshot reads, recorded read sets and buffered writes.

A :class:`Transaction` reads the database as of its ``begin_ts`` and sees its
own buffered writes on top (read-your-writes, including inside index scans).
Every read records an index key interval in :attr:`Transaction.read_set`; the
committer later checks those intervals against everything committed after
``begin_ts`` (serializable OCC). Nothing is written to storage until the
committer accepts the transaction, so dropping a transaction is a rollback.

A transaction belongs to one execution and is not thread-safe.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyconvex.knobs as knobs
from pyconvex.database.catalog import (
    BY_CREATION_TIME,
    SYSTEM_TABLES,
    Catalog,
    IndexInfo,
    IndexState,
    TableInfo,
    builtin_indexes,
)
from pyconvex.database.documents import (
    SYSTEM_FIELDS,
    copy_value,
    document_key,
    id_key,
    strip_system_fields,
)
from pyconvex.database.readset import CATALOG_INDEX_ID, SCHEMA_KEY, ReadSet
from pyconvex.database.schema import Schema
from pyconvex.entropy import token_bytes
from pyconvex.errors import DocumentError, SchemaValidationError, TransactionLimitError
from pyconvex.storage.base import Persistence
from pyconvex.values.ids import decode_id, encode_id, id_binary
from pyconvex.values.json import dumps_bytes, loads_bytes
from pyconvex.values.limits import check_document, is_valid_identifier
from pyconvex.values.model import UNDEFINED, Int64, Undefined, Value, normalize_value
from pyconvex.values.ordering import encode_value
from pyconvex.values.validators import ValidationError

__all__ = [
    "CreationClock",
    "PendingWrite",
    "TableAllocator",
    "Transaction",
    "TransactionLimits",
]

# Not os.urandom: the determinism guard replaces it inside queries and
# mutations, but document ids must stay truly random.
_urandom = token_bytes

_OVER_LIMIT_HELP = (
    "Consider using smaller limits in your queries, paginating your queries, or using "
    "indexed queries with a selective index range expressions."
)


@dataclass(frozen=True, slots=True)
class TransactionLimits:
    """Per-transaction budgets (Convex's defaults come from :mod:`pyconvex.knobs`)."""

    max_read_rows: int = knobs.TRANSACTION_MAX_READ_ROWS
    max_read_bytes: int = knobs.TRANSACTION_MAX_READ_BYTES
    max_read_intervals: int = knobs.TRANSACTION_MAX_READ_INTERVALS
    max_write_documents: int = knobs.TRANSACTION_MAX_WRITE_DOCUMENTS
    max_write_bytes: int = knobs.TRANSACTION_MAX_WRITE_BYTES


class CreationClock:
    """Hands out ``_creationTime`` values: strictly increasing across the process.

    Each value is at least the asking transaction's begin time (milliseconds)
    and greater than every value handed out before, so creation times are
    unique and increase within a transaction, as Convex guarantees.
    """

    def __init__(self) -> None:
        self._last = 0.0
        self._lock = threading.Lock()

    def next(self, at_least_ms: float) -> float:
        """Return a new creation time ``>= at_least_ms``."""
        with self._lock:
            value = (
                at_least_ms if at_least_ms > self._last else math.nextafter(self._last, math.inf)
            )
            self._last = value
            return value


class TableAllocator:
    """Hands out table numbers and index ids that are never reused, even on rollback."""

    def __init__(self, next_table_number: int, next_index_id: int) -> None:
        self._next_table = next_table_number
        self._next_index = next_index_id
        self._lock = threading.Lock()

    def table(self) -> tuple[int, int]:
        """Return a new table number and the first of its two built-in index ids."""
        with self._lock:
            number, index_id = self._next_table, self._next_index
            self._next_table += 1
            self._next_index += 2
            return number, index_id

    def index(self) -> int:
        """Return a new index id."""
        with self._lock:
            index_id = self._next_index
            self._next_index += 1
            return index_id

    def observe(self, catalog: Catalog) -> None:
        """Never hand out numbers at or below ones the catalog already uses."""
        with self._lock:
            self._next_table = max(self._next_table, catalog.next_table_number)
            self._next_index = max(self._next_index, catalog.next_index_id)

    def index_pair(self) -> int:
        """Return the first of two new consecutive index ids (a table's built-in indexes)."""
        with self._lock:
            index_id = self._next_index
            self._next_index += 2
            return index_id

    def claim(self, number: int) -> bool:
        """Reserve table ``number`` (chosen by an import's IDs); return whether it could be.

        Only a number never handed out can be claimed: a smaller one may belong
        to a transaction still in flight that will create a table with it.
        Like :meth:`table`, a claimed number is never handed out again, even if
        the import fails.
        """
        with self._lock:
            if number < self._next_table:
                return False
            self._next_table = number + 1
            return True


@dataclass(slots=True)
class PendingWrite:
    """A buffered write of one document.

    Attributes:
        table: the document's table.
        document_id: the document's ``_id``.
        doc_bin: the binary id, the storage key of the document.
        old: the document as of the snapshot (None: inserted by this transaction).
        old_ts: the snapshot revision's timestamp (None with ``old``).
        new: the document after this transaction (None: deleted).
    """

    table: TableInfo
    document_id: str
    doc_bin: bytes
    old: dict[str, Value] | None
    old_ts: int | None
    new: dict[str, Value] | None
    #: ``new`` encoded for storage (kept from the size check so it is encoded once).
    encoded: bytes | None = None


@dataclass(slots=True)
class _Usage:
    rows_read: int = 0
    bytes_read: int = 0
    documents_written: int = 0
    bytes_written: int = 0


@dataclass(slots=True)
class Savepoint:
    """The state to return to when a nested call fails (see :meth:`Transaction.rollback_to`)."""

    writes: dict[bytes, PendingWrite]
    created_tables: dict[str, TableInfo]
    documents_written: int
    bytes_written: int


@dataclass(slots=True)
class Transaction:
    """One snapshot transaction: reads at ``begin_ts``, buffered writes.

    Attributes:
        persistence: where committed data is read from.
        catalog: tables and indexes as of ``begin_ts``.
        schema: the schema in force when the transaction began, if any.
        begin_ts: the snapshot timestamp.
        begin_wall_ns: the transaction's start time, the frozen "now" of its function.
        writable: whether writes are allowed (mutations) or refused (queries).
    """

    persistence: Persistence
    catalog: Catalog
    schema: Schema | None
    begin_ts: int
    begin_wall_ns: int
    writable: bool
    creation_clock: CreationClock
    allocator: TableAllocator
    limits: TransactionLimits = field(default_factory=TransactionLimits)
    read_set: ReadSet = field(default_factory=ReadSet)
    writes: dict[bytes, PendingWrite] = field(default_factory=dict)
    created_tables: dict[str, TableInfo] = field(default_factory=dict)
    usage: _Usage = field(default_factory=_Usage)
    #: Set by the first ``paginate`` (Convex allows one per function).
    paginated: bool = False
    #: The ``continueCursor`` of this execution's page: the query journal.
    page_end_cursor: str | None = None
    #: The journal of the previous run of the same subscription: its page's end.
    previous_end_cursor: str | None = None
    _open_scans: list[Any] = field(default_factory=list)
    _intervals_used: int = 0
    #: Tables whose whole ``by_creation_time`` range an import has read (or created).
    _import_tables: set[int] = field(default_factory=set)
    #: Set for pyconvex's own writes to system tables (never for app functions).
    system_writes: bool = False
    #: The environment variables as this transaction read them (``pyconvex.env``'s cache).
    _pyconvex_env: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.writable:
            # Any schema or index change committed after we began invalidates
            # the validation and index maintenance done by our writes.
            self.read_set.add_point(CATALOG_INDEX_ID, SCHEMA_KEY)

    # -- tables ---------------------------------------------------------

    def table(self, name: str) -> TableInfo | None:
        """The table called ``name`` as this transaction sees it; a miss is recorded."""
        table = self.catalog.table(name) or self.created_tables.get(name)
        if table is None:
            self.read_set.add_point(CATALOG_INDEX_ID, encode_value(name))
        return table

    def table_by_number(self, number: int) -> TableInfo | None:
        """The table with this number as this transaction sees it."""
        table = self.catalog.table_by_number(number)
        if table is None:
            for created in self.created_tables.values():
                if created.number == number:
                    return created
        return table

    def table_name_for_id(self, document_id: str) -> str | None:
        """The name of the table an ID belongs to (for ``v.id`` validation)."""
        try:
            number, _ = decode_id(document_id)
        except Exception:
            return None
        table = self.table_by_number(number)
        return table.name if table else None

    def _table_for_write(self, name: str) -> TableInfo:
        table = self.table(name)
        if table is not None:
            return table
        if not is_valid_identifier(name):
            raise DocumentError(f"Invalid table name: {name!r}")
        number, first_index = self.allocator.table()
        table = TableInfo(name, number, builtin_indexes(first_index))
        self.created_tables[name] = table
        return table

    # -- reads ------------------------------------------------------------

    def get(self, document_id: str, *, system: bool = False) -> dict[str, Value] | None:
        """Return the document with this ID as this transaction sees it, or None.

        Raises:
            InvalidIdError: ``document_id`` is not a valid ID.
            DocumentError: a user-table ID read through ``db.system`` or vice versa.
        """
        number, internal = decode_id(document_id)
        table = self.table_by_number(number)
        if table is None:
            return None
        _check_system_access(table, system, "get")
        return self._get_in_table(table, document_id, id_binary(number, internal))

    def _get_in_table(
        self, table: TableInfo, document_id: str, doc_bin: bytes
    ) -> dict[str, Value] | None:
        return self._current(table, document_id, doc_bin)[0]

    def _current(
        self, table: TableInfo, document_id: str, doc_bin: bytes
    ) -> tuple[dict[str, Value] | None, int | None]:
        """The document as this transaction sees it, and the ts of its snapshot revision.

        The ts is None when the document comes from this transaction's own writes.
        """
        self._record_interval(table.by_id.index_id, *_point(id_key(document_id)))
        pending = self.writes.get(doc_bin)
        if pending is not None:
            return (copy_value(pending.new) if pending.new is not None else None), None
        revision = self.persistence.get_revision(doc_bin, self.begin_ts)
        if revision is None or revision.value is None:
            return None, None
        self._count_read(len(revision.value))
        document: dict[str, Value] = loads_bytes(revision.value)
        return document, revision.ts

    def scan(
        self,
        table: TableInfo,
        index: IndexInfo,
        start: bytes,
        end: bytes | None,
        *,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, dict[str, Value]]]:
        """Yield ``(key, document)`` in index order over ``[start, end)``.

        Committed documents at ``begin_ts`` are merged with this transaction's
        own writes. The caller records the consumed interval with
        :meth:`record_scan` (only it knows how far it read); every yielded row
        counts against the read limits.
        """
        removed, added = self._overlay(table, index, start, end, reverse)
        base = self.persistence.index_scan(
            index.index_id, start, end, self.begin_ts, reverse=reverse
        )
        position = 0
        for key, revision in base:
            while position < len(added) and _before(added[position][0], key, reverse):
                yield self._counted_overlay(added[position])
                position += 1
            if key in removed or revision.value is None:
                continue
            self._count_read(len(revision.value))
            yield key, loads_bytes(revision.value)
        while position < len(added):
            yield self._counted_overlay(added[position])
            position += 1

    def _counted_overlay(
        self, item: tuple[bytes, dict[str, Value]]
    ) -> tuple[bytes, dict[str, Value]]:
        self._count_read(0)
        return item[0], copy_value(item[1])

    def _overlay(
        self, table: TableInfo, index: IndexInfo, start: bytes, end: bytes | None, reverse: bool
    ) -> tuple[set[bytes], list[tuple[bytes, dict[str, Value]]]]:
        removed: set[bytes] = set()
        added: list[tuple[bytes, dict[str, Value]]] = []
        for pending in self.writes.values():
            if pending.table.number != table.number:
                continue
            if pending.old is not None:
                removed.add(document_key(index, pending.old))
            if pending.new is not None:
                key = document_key(index, pending.new)
                if start <= key and (end is None or key < end):
                    added.append((key, pending.new))
        added.sort(key=lambda item: item[0], reverse=reverse)
        return removed, added

    def open_scan(self, scan: Any) -> None:
        """Register a query's scan; its consumed interval is recorded by :meth:`finalize_reads`.

        ``scan`` has an ``index`` and an ``observed()`` method returning the
        consumed ``(start, end)`` or None. Recording is deferred because only
        the end of the execution knows how far an abandoned iteration got.
        """
        self._open_scans.append(scan)
        self._count_interval()

    def finalize_reads(self) -> ReadSet:
        """Record every open scan's consumed interval and return the read set."""
        for scan in self._open_scans:
            observed = scan.observed()
            if observed is not None:
                self.read_set.add(scan.index.index_id, *observed)
        self._open_scans.clear()
        return self.read_set

    def _record_interval(self, index_id: int, start: bytes, end: bytes | None) -> None:
        self.read_set.add(index_id, start, end)
        self._count_interval()

    def _count_interval(self) -> None:
        self._intervals_used += 1
        if self._intervals_used > self.limits.max_read_intervals:
            raise TransactionLimitError(
                "Too many reads in a single function execution "
                f"(limit: {self.limits.max_read_intervals}). {_OVER_LIMIT_HELP}"
            )

    def _count_read(self, size: int) -> None:
        usage = self.usage
        usage.rows_read += 1
        usage.bytes_read += size
        if usage.rows_read > self.limits.max_read_rows:
            raise TransactionLimitError(
                "Too many documents read in a single function execution "
                f"(limit: {self.limits.max_read_rows}). {_OVER_LIMIT_HELP}"
            )
        if usage.bytes_read > self.limits.max_read_bytes:
            raise TransactionLimitError(
                "Too many bytes read in a single function execution "
                f"(limit: {self.limits.max_read_bytes} bytes). {_OVER_LIMIT_HELP}"
            )

    # -- writes ---------------------------------------------------------

    def insert(
        self, table_name: str, value: dict[str, Any], *, internal_id: bytes | None = None
    ) -> str:
        """Buffer a new document and return its ``_id``.

        ``internal_id`` (16 bytes, default random) lets pyconvex name a document
        before inserting it (file storage writes a file's bytes under its id first).

        Raises:
            DocumentError: a system table, a system field, or a read-only transaction.
            SchemaValidationError: the document does not match the table's validator.
            InvalidValueError: the document is not a valid Convex document.
        """
        self._check_writable()
        if table_name.startswith("_") and not self.system_writes:
            raise DocumentError("System tables (prefixed with `_`) are read-only.")
        if not isinstance(value, dict):
            raise DocumentError("Invalid argument `value` for `db.insert`: Value must be an Object")
        table = self._table_for_write(table_name)
        internal = _urandom(16) if internal_id is None else internal_id
        document_id = encode_id(table.number, internal)
        fields = self._checked_fields(table_name, value, document_id, None)
        creation_time = self.creation_clock.next(self.begin_wall_ns / 1e6)
        document = {**fields, "_id": document_id, "_creationTime": creation_time}
        doc_bin = id_binary(table.number, internal)
        pending = PendingWrite(table, document_id, doc_bin, None, None, document)
        self.writes[doc_bin] = pending
        self._count_write(pending)
        return document_id

    def patch(self, document_id: str, value: dict[str, Any]) -> None:
        """Shallow-merge ``value`` into a document; ``UNDEFINED`` removes a field."""
        table, doc_bin, current, snapshot_ts = self._existing(document_id, "Update")
        if not isinstance(value, dict):
            raise DocumentError("Invalid argument `value` for `db.patch`: Value must be an Object")
        merged = strip_system_fields(current)
        for key, item in value.items():
            if key in ("_id", "_creationTime"):
                _check_same_system_field(key, item, current)
            elif type(item) is Undefined:
                merged.pop(key, None)
            else:
                merged[key] = item
        self._write_existing(table, document_id, doc_bin, current, snapshot_ts, merged)

    def replace(self, document_id: str, value: dict[str, Any]) -> None:
        """Replace a document's fields entirely (its system fields are kept)."""
        table, doc_bin, current, snapshot_ts = self._existing(document_id, "Replace")
        if not isinstance(value, dict):
            raise DocumentError(
                "Invalid argument `value` for `db.replace`: Value must be an Object"
            )
        fields = {}
        for key, item in value.items():
            if key in ("_id", "_creationTime"):
                _check_same_system_field(key, item, current)
            elif type(item) is not Undefined:
                fields[key] = item
        self._write_existing(table, document_id, doc_bin, current, snapshot_ts, fields)

    def delete(self, document_id: str) -> None:
        """Buffer the deletion of a document."""
        table, doc_bin, current, snapshot_ts = self._existing(document_id, "Delete")
        self._buffer(table, document_id, doc_bin, None, current, snapshot_ts)

    def _existing(
        self, document_id: str, verb: str
    ) -> tuple[TableInfo, bytes, dict[str, Value], int | None]:
        self._check_writable()
        number, internal = decode_id(document_id)
        table = self.table_by_number(number)
        if table is None:
            raise DocumentError(f'Table for ID "{document_id}" not found')
        if table.name.startswith("_") and not self.system_writes:
            raise DocumentError("System tables (prefixed with `_`) are read-only.")
        doc_bin = id_binary(number, internal)
        current, snapshot_ts = self._current(table, document_id, doc_bin)
        if current is None:
            raise DocumentError(f"{verb} on nonexistent document ID {document_id}")
        return table, doc_bin, current, snapshot_ts

    def _write_existing(
        self,
        table: TableInfo,
        document_id: str,
        doc_bin: bytes,
        current: dict[str, Value],
        snapshot_ts: int | None,
        fields: dict[str, Any],
    ) -> None:
        checked = self._checked_fields(table.name, fields, document_id, current)
        document = {**checked, "_id": current["_id"], "_creationTime": current["_creationTime"]}
        self._buffer(table, document_id, doc_bin, document, current, snapshot_ts)

    def _checked_fields(
        self,
        table_name: str,
        fields: dict[str, Any],
        document_id: str,
        current: dict[str, Value] | None,
    ) -> dict[str, Value]:
        if current is None:
            for key in ("_id", "_creationTime"):
                if key in fields:
                    raise DocumentError(_provided_system_field_message(key, fields[key]))
        validator = self.schema.validator_for(table_name) if self.schema else None
        if validator is None:
            checked: dict[str, Value] = normalize_value(fields)
        else:
            try:
                checked = validator.validate(fields, "", self)
            except ValidationError as error:
                raise SchemaValidationError(
                    f'Failed to insert or update a document in table "{table_name}" because '
                    f"it does not match the schema: {error.message}"
                ) from None
        check_document({**checked, "_id": document_id, "_creationTime": 0.0})
        return checked

    def _buffer(
        self,
        table: TableInfo,
        document_id: str,
        doc_bin: bytes,
        document: dict[str, Value] | None,
        snapshot: dict[str, Value],
        snapshot_ts: int | None,
    ) -> None:
        pending = self.writes.get(doc_bin)
        if pending is not None:
            pending.new = document
        else:
            # First write of this document here: ``snapshot`` is its version at
            # begin_ts (just read by _existing), whose index keys the commit removes.
            pending = PendingWrite(table, document_id, doc_bin, snapshot, snapshot_ts, document)
            self.writes[doc_bin] = pending
        self._count_write(pending)

    def _count_write(self, pending: PendingWrite) -> None:
        usage = self.usage
        usage.documents_written += 1
        pending.encoded = None
        if pending.new is not None:
            pending.encoded = dumps_bytes(pending.new)
            usage.bytes_written += len(pending.encoded)
        if usage.documents_written > self.limits.max_write_documents:
            raise TransactionLimitError(
                "Too many writes in a single function execution "
                f"(limit: {self.limits.max_write_documents})"
            )
        if usage.bytes_written > self.limits.max_write_bytes:
            raise TransactionLimitError(
                "Too many bytes written in a single function execution "
                f"(limit: {self.limits.max_write_bytes})"
            )

    def _check_writable(self) -> None:
        if not self.writable:
            raise DocumentError("Writes are not allowed in queries (use a mutation).")

    # -- nested calls -----------------------------------------------------

    def savepoint(self) -> Savepoint:
        """Capture the write state, to roll a failed nested call back to."""
        writes = {
            doc_bin: PendingWrite(
                p.table, p.document_id, p.doc_bin, p.old, p.old_ts, p.new, p.encoded
            )
            for doc_bin, p in self.writes.items()
        }
        return Savepoint(
            writes,
            dict(self.created_tables),
            self.usage.documents_written,
            self.usage.bytes_written,
        )

    def rollback_to(self, savepoint: Savepoint) -> None:
        """Undo every write made since ``savepoint`` (reads stay recorded)."""
        self.writes = savepoint.writes
        self.created_tables = savepoint.created_tables
        self.usage.documents_written = savepoint.documents_written
        self.usage.bytes_written = savepoint.bytes_written

    # -- misc -----------------------------------------------------------

    def index(self, table: TableInfo, name: str) -> IndexInfo | None:
        """The queryable index ``name`` of ``table`` (None if missing)."""
        return table.indexes.get(name)

    def index_state(self, index: IndexInfo) -> IndexState:
        """Whether ``index`` can be queried yet."""
        return index.state

    def is_read_only(self) -> bool:
        """Whether this transaction has no writes (nothing to commit)."""
        return not self.writes and not self.created_tables

    # -- snapshot import (pyconvex.database.snapshot) ---------------------

    def create_table_for_import(self, table: TableInfo) -> None:
        """Create ``table`` with the number and index ids the caller reserved.

        The caller reserves them with :meth:`TableAllocator.claim` (a number
        taken from the imported IDs) or :meth:`TableAllocator.table`. The new
        table belongs to this transaction alone until it commits, so
        :meth:`import_document` needs no per-document reads for it.

        Raises:
            DocumentError: a read-only transaction, or the name or number is taken.
        """
        self._check_writable()
        if self.table(table.name) is not None:
            raise DocumentError(f'Table "{table.name}" already exists')
        existing = self.table_by_number(table.number)
        if existing is not None:
            raise DocumentError(
                f'Table number {table.number} is already used by table "{existing.name}"'
            )
        self.created_tables[table.name] = table
        self._import_tables.add(table.number)

    def prepare_import_table(self, table_name: str, *, delete_existing: bool) -> int:
        """Read a whole table for an import; optionally buffer the deletion of every document.

        The read covers the table's entire ``by_creation_time`` range, so any
        write to the table committed after this transaction began makes the
        import conflict (and retry) instead of mixing with it. Call it before
        importing documents into the table.

        Returns:
            The number of documents in the table (at most 1 unless
            ``delete_existing``: finding one is enough to know it is not empty).
        """
        self._check_writable()
        table = self.table(table_name)
        if table is None:
            return 0  # the miss is recorded: creating the table concurrently conflicts
        index = table.indexes[BY_CREATION_TIME]
        self.read_set.add(index.index_id, b"", None)
        self._import_tables.add(table.number)
        count = 0
        for _, revision in self.persistence.index_scan(index.index_id, b"", None, self.begin_ts):
            if revision.value is None:
                continue
            count += 1
            if not delete_existing:
                break
            if revision.doc_id in self.writes:
                continue
            document: dict[str, Value] = loads_bytes(revision.value)
            document_id = str(document["_id"])
            pending = PendingWrite(table, document_id, revision.doc_id, document, revision.ts, None)
            self.writes[revision.doc_id] = pending
            self._count_write(pending)
        return count

    def import_document(self, table_name: str, document: dict[str, Any]) -> str:
        """Buffer a document for a snapshot import, keeping its ``_id`` and ``_creationTime``.

        This is the only way to choose a document's system fields (as in
        Convex): an ``_id`` must be a valid ID of this table's number, a
        ``_creationTime`` a non-negative finite number; missing ones are
        generated as :meth:`insert` does. The fields are validated against the
        schema exactly as :meth:`insert` validates them. A document whose
        ``_id`` this transaction deleted with :meth:`prepare_import_table`
        replaces it; the table must exist (see :meth:`create_table_for_import`).

        Raises:
            DocumentError: a system table, a missing table, an ``_id`` of
                another table, a duplicate ``_id``, an ``_id`` that exists
                already, or an invalid ``_creationTime``.
            InvalidIdError: ``_id`` is not a valid ID.
            SchemaValidationError: the document does not match the table's validator.
            InvalidValueError: the document is not a valid Convex document.
        """
        self._check_writable()
        if table_name.startswith("_"):
            raise DocumentError("System tables (prefixed with `_`) are read-only.")
        if not isinstance(document, dict):
            raise DocumentError("An imported document must be an object")
        table = self.table(table_name)
        if table is None:
            raise DocumentError(f'Table "{table_name}" does not exist')
        given_id = document.get("_id", UNDEFINED)
        if given_id is UNDEFINED:
            internal = _urandom(16)
            document_id = encode_id(table.number, internal)
        else:
            if type(given_id) is not str:
                raise DocumentError(f"Invalid _id {given_id!r}: IDs are strings")
            number, internal = decode_id(given_id)
            if number != table.number:
                raise DocumentError(
                    f'_id "{given_id}" cannot be imported into table "{table_name}": it is an '
                    f'ID of table number {number}, but "{table_name}" has number '
                    f"{table.number} in this deployment (the document comes from another "
                    "deployment). Import into a deployment without this table instead."
                )
            document_id = given_id
        given_time = document.get("_creationTime", UNDEFINED)
        if given_time is UNDEFINED:
            creation_time = self.creation_clock.next(self.begin_wall_ns / 1e6)
        else:
            creation_time = _import_creation_time(given_time)
        fields = {k: v for k, v in document.items() if k not in SYSTEM_FIELDS}
        checked = self._checked_fields(table_name, fields, document_id, None)
        new = {**checked, "_id": document_id, "_creationTime": creation_time}
        doc_bin = id_binary(table.number, internal)
        pending = self.writes.get(doc_bin)
        if pending is not None:
            if pending.new is not None:
                raise DocumentError(
                    f'Objects in table "{table_name}" have duplicate _id fields: "{document_id}"'
                )
            pending.new = new  # re-imports a document this import deleted
        else:
            if table.number not in self._import_tables:
                # Appending: a concurrent write of this ID must conflict with us.
                self._record_interval(table.by_id.index_id, *_point(id_key(document_id)))
            revision = self.persistence.get_revision(doc_bin, self.begin_ts)
            if revision is not None and revision.value is not None:
                raise DocumentError(
                    f'A document with _id "{document_id}" already exists in table "{table_name}"'
                )
            pending = PendingWrite(table, document_id, doc_bin, None, None, new)
            self.writes[doc_bin] = pending
        self._count_write(pending)
        return document_id


def _before(left: bytes, right: bytes, reverse: bool) -> bool:
    return left > right if reverse else left < right


def _point(key: bytes) -> tuple[bytes, bytes]:
    return key, key + b"\x00"


def _check_system_access(table: TableInfo, system: bool, method: str) -> None:
    is_system = table.name in SYSTEM_TABLES
    if is_system and not system:
        raise DocumentError(
            f"System tables can only be accessed from db.system.{method}(). "
            f"Use ctx.db.system.{method}() to read table {table.name}."
        )
    if system and not is_system:
        raise DocumentError(
            f"User tables can only be accessed from db.{method}(). "
            f"Use ctx.db.{method}() to read table {table.name}."
        )


def _check_same_system_field(key: str, item: Any, current: dict[str, Value]) -> None:
    if item is UNDEFINED or item == current[key]:
        return
    if key == "_id":
        raise DocumentError(
            f'Provided document ID "{item}" doesn\'t match \'_id\' field "{current["_id"]}"'
        )
    raise DocumentError(
        f"Provided creation time {item!r} doesn't match '_creationTime' field "
        f"{current['_creationTime']!r}"
    )


def _import_creation_time(value: Any) -> float:
    # Convex accepts a float64 creation time that is finite and not negative
    # (-0.0 included). An int64 is taken too when it converts exactly (a
    # hand-written export line may lack the ".0"); Convex would ignore it.
    number: float
    if type(value) is float:
        number = value
    elif type(value) is Int64 and abs(value) <= 2**53:
        number = float(value)
    else:
        raise DocumentError(f"Invalid _creationTime {value!r}: it must be a number")
    if not math.isfinite(number) or math.copysign(1.0, number) < 0:
        raise DocumentError(f"Invalid _creationTime {value!r}: it must be finite and not negative")
    return number


def _provided_system_field_message(key: str, item: Any) -> str:
    if key == "_id":
        return f"Provided document ID \"{item}\" doesn't match '_id' field of the new document"
    return (
        f"Provided creation time {item!r} doesn't match '_creationTime' field of the new document"
    )
