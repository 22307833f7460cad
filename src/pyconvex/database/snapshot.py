"""Snapshot export and import: Convex's ZIP of JSONL tables, and single-table files.

**Export** (:func:`export_snapshot`) writes Convex's snapshot ZIP at one snapshot
timestamp, streaming (one document in memory at a time)::

    README.md
    _tables/documents.jsonl            {"name": "messages", "id": 10001} per user table
    <table>/documents.jsonl            one document per line, with _id and _creationTime
    <table>/generated_schema.jsonl     "uniform": the documents use the export encoding

Documents use the export encoding (:func:`~pyconvex.values.json.dumps_export`):
int64 as a bare JSON integer, finite floats always with a ``.`` or an exponent,
NaN, infinities and bytes in ``$float`` / ``$bytes`` wrappers. System tables are
not exported (``_storage`` will be, with its files, once file storage exists).
Tables come in table-number order and documents in ``_creationTime`` order
(Convex writes tables small to large and documents in ``_id`` order; the format
does not depend on either).

**Import** (:func:`import_zip`, :func:`import_file`, :func:`import_documents`)
keeps every document's ``_id`` and ``_creationTime`` (the only way to choose
them, as in Convex), so references between tables survive a round trip. An
``_id`` encodes its table's number, so each imported table takes the number of
its IDs (from ``_tables/documents.jsonl``, else from the first document's
``_id``): a table the import creates gets it, and an existing table with
another number is renumbered, in the modes where all its documents go anyway
(Convex swaps in a new table with that number). The number must be free: not
kept by a table outside the import, and either freed by a renumbered table or
never handed out by this deployment. Every table is in place before any
document is checked, so ``v.id()`` fields may point at tables later in the
ZIP. Documents are validated against the schema exactly as ``db.insert``
validates them. Modes, as Convex's ``npx convex import``:

``error_if_exists`` (Convex's ``requireEmpty``, the default)
    refuse a table that has documents;
``replace``
    delete a table's documents and import the new ones;
``append``
    add the documents to the table.

*Atomicity.* In ``replace`` and ``error_if_exists`` modes the whole import (every
table of a ZIP) is **one commit**: it becomes visible at once or not at all, and
a failure leaves every table as it was (Convex stages hidden tables and swaps
them in together; pyconvex has no hidden tables, so it commits once). That
transaction bypasses the per-transaction limits: the import's size is bounded by
memory instead (the validated documents are held until the commit), and it reads
each target table's whole ``by_creation_time`` range, so a write to one of them
during the import makes it conflict and retry rather than mix with it. ``append``
commits batches of ``batch_size`` documents, like Convex: a failure keeps the
batches already committed.

Single-table files are read as Convex reads them: JSON Lines and JSON arrays
infer types from JSON (every number is a float64, ``$``-prefixed keys are
refused), CSV cells are float64 when they parse as a number and strings
otherwise (an empty cell of a field the schema declares ``v.optional`` is left
out). Only snapshot ZIPs carry int64 and bytes.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import io
import itertools
import json
import math
import re
import stat
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Literal, Protocol

import pyconvex.knobs as knobs
from pyconvex.database.catalog import (
    BY_CREATION_TIME,
    FIRST_USER_TABLE_NUMBER,
    Catalog,
    TableInfo,
    builtin_indexes,
)
from pyconvex.database.committer import CommitConflict, DatabaseState
from pyconvex.database.database import Database
from pyconvex.database.transaction import Transaction, TransactionLimits
from pyconvex.errors import InvalidIdError, InvalidValueError, PyConvexError
from pyconvex.values.ids import MAX_TABLE_NUMBER, MIN_TABLE_NUMBER, decode_id
from pyconvex.values.json import decode_export_json, dumps_export, loads_bytes
from pyconvex.values.limits import check_field_names, field_name_error, is_valid_identifier
from pyconvex.values.model import Value
from pyconvex.values.validators import ObjectValidator, UnionValidator, Validator

__all__ = [
    "FORMATS",
    "MODES",
    "ImportFormat",
    "ImportMode",
    "Progress",
    "SnapshotImportError",
    "ZipOutput",
    "export_snapshot",
    "import_documents",
    "import_file",
    "import_zip",
    "parse_format",
    "parse_mode",
    "read_csv",
    "read_json_array",
    "read_jsonl",
]

#: How documents are merged into existing tables (see the module docstring).
ImportMode = Literal["error_if_exists", "replace", "append"]
#: The file formats of ``npx convex import``.
ImportFormat = Literal["zip", "jsonLines", "jsonArray", "csv"]
#: ``progress(table, documents_so_far)``, called every thousand documents and per table.
Progress = Callable[[str, int], None]

#: Accepted names of each format: Convex's, and the file extensions.
FORMATS: Final[dict[str, ImportFormat]] = {
    "zip": "zip",
    "jsonLines": "jsonLines",
    "jsonl": "jsonLines",
    "jsonArray": "jsonArray",
    "json": "jsonArray",
    "csv": "csv",
}
#: Accepted names of each mode: pyconvex's and Convex's (``requireEmpty``).
MODES: Final[dict[str, ImportMode]] = {
    "error_if_exists": "error_if_exists",
    "requireEmpty": "error_if_exists",
    "replace": "replace",
    "append": "append",
}

_README: Final = """\
# pyconvex snapshot export

This ZIP file holds a snapshot of every table of a pyconvex deployment, taken
at a single point in time, in the format of Convex's snapshot exports.

Each table's documents are lines of JSON in <table>/documents.jsonl, with their
_id and _creationTime; _tables/documents.jsonl lists the tables and their
numbers. Restore the snapshot with `pyconvex import <file>.zip` (or import it
into Convex with `npx convex import`).
"""
_UNIFORM_SCHEMA: Final = b'"uniform"\n'
_PROGRESS_EVERY: Final = 1000
_DEFAULT_BATCH: Final = 1000
#: Attempts of an atomic import whose target tables keep changing under it.
_ATTEMPTS: Final = 5
_UTF8_BOM: Final = b"\xef\xbb\xbf"
# Imports are bounded by memory, not by the budgets of one function execution.
_IMPORT_LIMITS: Final = TransactionLimits(
    max_read_rows=sys.maxsize,
    max_read_bytes=sys.maxsize,
    max_read_intervals=sys.maxsize,
    max_write_documents=sys.maxsize,
    max_write_bytes=sys.maxsize,
)
# Zip entry names of a snapshot, with an optional ignored folder in front.
_DOCUMENTS_ENTRY = re.compile(r"^(.*/)?([^/]+)/documents\.jsonl$")
_SCHEMA_ENTRY = re.compile(r"^(.*/)?([^/]+)/generated_schema\.jsonl$")
_TABLES_TABLE: Final = "_tables"
# What Rust's ``f64::from_str`` accepts: Convex turns such CSV cells into numbers.
_RUST_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)\Z",
    re.IGNORECASE,
)


class ZipOutput(Protocol):
    """Where :func:`export_snapshot` writes: a binary file, or anything with these methods.

    ``close`` is never called on it (the caller owns it).
    """

    def write(self, data: bytes, /) -> int:
        """Write ``data`` and return its length."""
        ...

    def flush(self) -> None:
        """Push buffered bytes on."""
        ...

    def close(self) -> None:
        """Release the output (not called by the export)."""
        ...


class SnapshotImportError(PyConvexError):
    """An import file or an import request is invalid; nothing was imported.

    Attributes:
        code: Convex's error code (``TableExists``, ``JsonInvalidRow``, ``InvalidZip``, ...).
    """

    short = "InvalidImport"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_format(name: str) -> ImportFormat:
    """The import format called ``name`` (``zip``, ``jsonLines``/``jsonl``, ...).

    Raises:
        SnapshotImportError: not a known format.
    """
    try:
        return FORMATS[name]
    except KeyError:
        raise SnapshotImportError(
            "InvalidFormat", f"Unknown import format {name!r}: use zip, jsonLines, jsonArray or csv"
        ) from None


def parse_mode(name: str) -> ImportMode:
    """The import mode called ``name`` (``error_if_exists``/``requireEmpty``, ...).

    Raises:
        SnapshotImportError: not a known mode (``replaceAll`` is not supported).
    """
    try:
        return MODES[name]
    except KeyError:
        raise SnapshotImportError(
            "InvalidMode",
            f"Unknown import mode {name!r}: use requireEmpty, replace or append",
        ) from None


# --------------------------------------------------------------------------- export


def export_snapshot(
    database: Database,
    out: ZipOutput,
    *,
    progress: Progress | None = None,
    at: DatabaseState | None = None,
) -> int:
    """Write a snapshot ZIP of every user table to ``out`` and return its timestamp.

    Everything is read at one snapshot (``at``, default the latest durable
    state) straight from storage, so commits during the export do not show in
    it and no transaction limit applies. ``out`` needs only ``write`` and
    ``flush``: a pipe or a socket will do (entries then carry data descriptors).

    Args:
        out: where the ZIP goes.
        progress: called with ``(table, documents_so_far)`` while tables are written.
        at: the snapshot to export (``database.state`` read by the caller
            beforehand, e.g. to announce its timestamp).
    """
    state = at if at is not None else database.state
    tables = sorted(
        (table for table in state.catalog.tables.values() if not table.name.startswith("_")),
        key=lambda table: table.number,
    )
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_entry("README.md", state.ts), _README.encode())
        listing = "".join(
            json.dumps({"name": t.name, "id": t.number}, separators=(",", ":")) + "\n"
            for t in tables
        )
        archive.writestr(_entry(f"{_TABLES_TABLE}/documents.jsonl", state.ts), listing.encode())
        for table in tables:
            _export_table(database, archive, table, state.ts, progress)
            archive.writestr(
                _entry(f"{table.name}/generated_schema.jsonl", state.ts), _UNIFORM_SCHEMA
            )
    return state.ts


def _export_table(
    database: Database,
    archive: zipfile.ZipFile,
    table: TableInfo,
    ts: int,
    progress: Progress | None,
) -> None:
    index = table.indexes[BY_CREATION_TIME]
    count = 0
    # ZIP64 headers: a table's size is unknown until it has been written.
    with archive.open(_entry(f"{table.name}/documents.jsonl", ts), "w", force_zip64=True) as entry:
        lines: list[str] = []
        for _, revision in database.persistence.index_scan(index.index_id, b"", None, ts):
            if revision.value is None:
                continue
            lines.append(dumps_export(loads_bytes(revision.value)))
            count += 1
            if len(lines) >= 256:  # fewer, larger writes into the compressor
                entry.write(("\n".join(lines) + "\n").encode())
                lines.clear()
            if progress is not None and count % _PROGRESS_EVERY == 0:
                progress(table.name, count)
        if lines:
            entry.write(("\n".join(lines) + "\n").encode())
    if progress is not None:
        progress(table.name, count)


def _entry(name: str, ts: int) -> zipfile.ZipInfo:
    # ZIP timestamps start in 1980; commit timestamps are nanoseconds since 1970.
    seconds = max(ts / 1e9, 315_532_800.0)
    info = zipfile.ZipInfo(name, date_time=time.gmtime(seconds)[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so the permissions below mean what they say
    info.external_attr = (stat.S_IFREG | 0o644) << 16  # rw-r--r--, as Convex writes them
    return info


# --------------------------------------------------------------------------- import API


def import_documents(
    database: Database,
    table: str,
    documents: Iterable[dict[str, Any]],
    *,
    mode: ImportMode = "error_if_exists",
    batch_size: int = _DEFAULT_BATCH,
    progress: Progress | None = None,
) -> int:
    """Import ``documents`` into ``table`` and return how many were imported.

    ``_id`` and ``_creationTime`` are kept when present; the table is created
    when missing (with the number of the first document's ``_id``, if any).

    Args:
        documents: Convex values (``Int64``, ``bytes``, ...), read once, lazily.
        mode: ``error_if_exists`` (default), ``replace`` or ``append``.
        batch_size: documents per commit in ``append`` mode.
        progress: called with ``(table, documents_so_far)``.

    Raises:
        SnapshotImportError: the table exists and is not empty
            (``error_if_exists``), a bad table name, or an unusable table number.
        SchemaValidationError: a document does not match the schema (the
            message names its row and ``_id``).
        PyConvexError: another invalid document (bad ``_id``, duplicate
            ``_id``, invalid value), also naming the row.
    """
    number, rows = _peek_table_number(iter(documents))
    source = _Source(table, number, rows)
    return _run_import(database, [source], mode, batch_size, progress)[table]


def import_zip(
    database: Database,
    file: str | Path | IO[bytes],
    *,
    tables: Sequence[str] | None = None,
    mode: ImportMode = "error_if_exists",
    batch_size: int = _DEFAULT_BATCH,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Import a snapshot ZIP (as :func:`export_snapshot` or Convex writes it).

    Args:
        file: a path or a seekable binary file.
        tables: import only these tables (default: every table in the ZIP).
        mode, batch_size, progress: as for :func:`import_documents`.

    Returns:
        The number of documents imported per table.

    Raises:
        SnapshotImportError: not a ZIP, a malformed line (naming its table and
            row), component tables, a requested table missing from the ZIP, ...
        SchemaValidationError, PyConvexError: as for :func:`import_documents`.
    """
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise SnapshotImportError(
            "InvalidZip", f"The file is not a valid ZIP file: {error}"
        ) from None
    with archive:
        entries, numbers = _read_zip_directory(archive)
        wanted = list(entries) if tables is None else list(tables)
        missing = [name for name in wanted if name not in entries]
        if missing:
            raise SnapshotImportError(
                "TableNotInImport", f'Table "{missing[0]}" is not in the ZIP file'
            )
        sources = []
        for name in wanted:
            documents_entry, uniform = entries[name]
            rows = _zip_rows(archive, name, documents_entry, uniform)
            number = numbers.get(name)
            if number is None:
                number, rows = _peek_table_number(rows)
            sources.append(_Source(name, number, rows))
        return _run_import(database, sources, mode, batch_size, progress)


def import_file(
    database: Database,
    file: str | Path | IO[bytes],
    *,
    format: ImportFormat,
    table: str | None = None,
    mode: ImportMode = "error_if_exists",
    batch_size: int = _DEFAULT_BATCH,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Import a file of any format: a snapshot ZIP, or JSON Lines, a JSON array or CSV.

    Args:
        format: ``zip``, ``jsonLines``, ``jsonArray`` or ``csv``.
        table: the destination table; required for the single-table formats,
            not allowed for a ZIP (as in Convex's CLI).

    Returns:
        The number of documents imported per table.

    Raises:
        SnapshotImportError, SchemaValidationError, PyConvexError: as for
            :func:`import_zip` and :func:`import_documents`.
    """
    if format == "zip":
        if table is not None:
            raise SnapshotImportError(
                "InvalidImport", "A table name is not allowed for a ZIP import"
            )
        return import_zip(database, file, mode=mode, batch_size=batch_size, progress=progress)
    if table is None:
        raise SnapshotImportError(
            "InvalidImport", f"A table name is required to import the {format} format"
        )
    with _open_binary(file) as handle:
        documents: Iterator[dict[str, Value]]
        if format == "jsonLines":
            documents = read_jsonl(handle)
        elif format == "jsonArray":
            documents = read_json_array(handle)
        else:
            schema = database.state.schema
            validator = schema.validator_for(table) if schema is not None else None
            documents = read_csv(handle, optional_fields=_optional_fields(validator))
        count = import_documents(
            database, table, documents, mode=mode, batch_size=batch_size, progress=progress
        )
    return {table: count}


# --------------------------------------------------------------------------- readers


def read_jsonl(file: IO[bytes]) -> Iterator[dict[str, Value]]:
    """Yield the documents of a JSON Lines file, one object per line (types inferred).

    Raises:
        SnapshotImportError: a byte-order mark, a line that is not JSON, not an
            object, or not a Convex value (naming the row).
    """
    for row, line in enumerate(file, 1):
        if row == 1 and line.startswith(_UTF8_BOM):
            raise _bom_error()
        yield _inferred_row(row, _parse_json_row(row, line))


def read_json_array(file: IO[bytes]) -> Iterator[dict[str, Value]]:
    """Yield the documents of a file holding one JSON array of objects (types inferred).

    The file may not be larger than a transaction's write limit, as in Convex.

    Raises:
        SnapshotImportError: too large, a byte-order mark, not JSON, not an
            array, or an element that is not an object or a Convex value.
    """
    limit = knobs.TRANSACTION_MAX_WRITE_BYTES
    data = file.read(limit + 1)
    if len(data) > limit:
        raise SnapshotImportError(
            "JsonArrayTooLarge",
            f"Import is too large for JSON ({len(data)}+ bytes > maximum {limit} bytes). "
            "Consider converting data to JSONLines",
        )
    if data.startswith(_UTF8_BOM):
        raise _bom_error()
    try:
        parsed = json.loads(data, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise SnapshotImportError("NotJson", f"Not valid JSON: {error}") from None
    if type(parsed) is not list:
        raise SnapshotImportError("NotJsonArray", "Not a JSON array")
    for row, item in enumerate(parsed, 1):
        yield _inferred_row(row, item)


def read_csv(
    file: IO[bytes], *, optional_fields: frozenset[str] = frozenset()
) -> Iterator[dict[str, Value]]:
    """Yield one document per row of a CSV file with a header row.

    Like Convex, a cell that parses as a number becomes a float64 (NaN and the
    infinities become null, as they do in Convex) and any other cell stays a
    string; a header is trimmed of spaces and must be a valid field name; an
    empty cell of a field in ``optional_fields`` is left out of its document.

    Raises:
        SnapshotImportError: a byte-order mark, invalid UTF-8, a bad header, or
            a row without every field of the header (naming the row).
    """
    # The wrapper must not close the caller's file: it is detached at the end.
    text = io.TextIOWrapper(file, encoding="utf-8", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is None:
            return
        if header[0].startswith("\ufeff"):
            raise _bom_error()
        names = [_csv_header(cell) for cell in header]
        for row, cells in enumerate(reader, 1):
            if not cells:
                continue  # a blank line
            if len(cells) != len(names):
                raise SnapshotImportError(
                    "CsvRowMissingFields",
                    f"CSV row {row} doesn't have all of the fields in the header",
                )
            document: dict[str, Value] = {}
            for name, cell in zip(names, cells):
                if cell == "" and name in optional_fields:
                    continue
                document[name] = _csv_cell(cell)
            yield document
    except (csv.Error, UnicodeDecodeError) as error:
        raise SnapshotImportError(
            "CsvInvalidRow", f"Failed to parse CSV row {reader.line_num}: {error}"
        ) from None
    finally:
        text.detach()


def _csv_header(cell: str) -> str:
    name = cell.strip(" ")
    problem = field_name_error(name)
    if problem is not None:
        raise SnapshotImportError(
            "CsvInvalidHeader", f"CSV header {name!r} isn't a valid field name: {problem}"
        )
    return name


def _csv_cell(cell: str) -> Value:
    if _RUST_FLOAT.match(cell):
        number = float(cell)
        # Convex goes through serde_json, which has no NaN or infinity: null.
        return number if math.isfinite(number) else None
    return cell


def _optional_fields(validator: Validator | None) -> frozenset[str]:
    # Convex's optional top-level fields: of the object, or of any object in a union.
    if isinstance(validator, ObjectValidator):
        return frozenset(name for name, field in validator.fields.items() if field.is_optional)
    if isinstance(validator, UnionValidator):
        return frozenset().union(*(_optional_fields(member) for member in validator.members))
    return frozenset()


def _parse_json_row(row: int, line: bytes) -> Any:
    try:
        return json.loads(line, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise SnapshotImportError(
            "JsonInvalidRow", f"Row {row} wasn't valid JSON: {error}"
        ) from None


def _inferred_row(row: int, parsed: Any) -> dict[str, Value]:
    if type(parsed) is not dict:
        raise SnapshotImportError("NotAnObject", f"Row {row} wasn't an object")
    try:
        document: dict[str, Value] = _infer(parsed)
    except InvalidValueError as error:
        raise SnapshotImportError(
            "InvalidConvexValue", f"Row {row} wasn't a valid Convex value: {error.message}"
        ) from None
    return document


def _infer(parsed: Any) -> Any:
    # Convex's decoding of plain JSON: every number is a float64 and there are
    # no $-wrappers (a "$..." key is refused like any invalid field name).
    kind = type(parsed)
    if kind is int:
        try:
            return float(parsed)
        except OverflowError:
            raise InvalidValueError(f"JSON number {parsed} is out of range for a float64") from None
    if kind is dict:
        check_field_names(parsed)
        return {key: _infer(item) for key, item in parsed.items()}
    if kind is list:
        return [_infer(item) for item in parsed]
    return parsed


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _bom_error() -> SnapshotImportError:
    return SnapshotImportError(
        "Utf8BomNotSupported", "UTF-8 BOM is not supported. Please save your file without BOM."
    )


def _open_binary(file: str | Path | IO[bytes]) -> AbstractContextManager[IO[bytes]]:
    # A path is opened (and closed) here; a caller's file is left open.
    if isinstance(file, str | Path):
        return open(file, "rb")
    return contextlib.nullcontext(file)


# --------------------------------------------------------------------------- ZIP reading


def _read_zip_directory(
    archive: zipfile.ZipFile,
) -> tuple[dict[str, tuple[zipfile.ZipInfo, bool]], dict[str, int]]:
    """The tables of a snapshot ZIP: their documents entry and whether they are
    in the export encoding, and the table numbers ``_tables`` lists."""
    documents: dict[str, zipfile.ZipInfo] = {}
    uniform: set[str] = set()
    numbers: dict[str, int] = {}
    for info in archive.infolist():
        match = _DOCUMENTS_ENTRY.match(info.filename) or _SCHEMA_ENTRY.match(info.filename)
        if match is None:
            continue
        prefix, name = match.group(1) or "", match.group(2)
        if "_components/" in prefix:
            raise SnapshotImportError(
                "InvalidZip", f"{info.filename}: component tables are not supported by pyconvex"
            )
        if name == _TABLES_TABLE:
            if match.re is _DOCUMENTS_ENTRY:
                numbers = _read_tables_table(archive, info)
            continue
        if name.startswith("_"):
            continue  # system tables (_storage: file storage is not supported yet)
        if match.re is _SCHEMA_ENTRY:
            if _generated_schema_is_uniform(archive, info):
                uniform.add(name)
            continue
        if name in documents:
            raise SnapshotImportError(
                "InvalidZip", f'The ZIP file holds table "{name}" twice ({info.filename})'
            )
        if not is_valid_identifier(name):
            raise SnapshotImportError(
                "InvalidTableName", f"{name!r} isn't a valid table name ({info.filename})"
            )
        documents[name] = info
    entries = {name: (info, name in uniform) for name, info in documents.items()}
    return entries, {name: n for name, n in numbers.items() if name in entries}


def _read_tables_table(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict[str, int]:
    numbers: dict[str, int] = {}
    owners: dict[int, str] = {}
    with _zip_errors(info.filename), archive.open(info) as entry:
        for row, line in enumerate(entry, 1):
            parsed = _parse_json_row(row, line)
            name = parsed.get("name") if type(parsed) is dict else None
            number = _table_number(parsed.get("id") if type(parsed) is dict else None)
            if type(name) is not str or number is None:
                raise SnapshotImportError(
                    "InvalidConvexValue",
                    f'Row {row} of _tables wasn\'t a valid table: it needs "name" and "id"',
                )
            if name in numbers:
                raise SnapshotImportError(
                    "DuplicateTableName", f"`_tables` contains duplicate entries for `{name}`"
                )
            if number in owners:
                raise SnapshotImportError(
                    "InvalidId",
                    f"conflict between `{owners[number]}` and `{name}` with number {number}",
                )
            numbers[name] = number
            owners[number] = name
    return numbers


def _table_number(raw: Any) -> int | None:
    # A JSON number naming a table number (Convex reads it as a float, truncated).
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        return None
    number = int(raw)
    return number if MIN_TABLE_NUMBER <= number <= MAX_TABLE_NUMBER else None


def _generated_schema_is_uniform(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    with _zip_errors(info.filename), archive.open(info) as entry:
        first = entry.readline()
    if _parse_json_row(1, first) == "uniform":
        return True
    raise SnapshotImportError(
        "InvalidGeneratedSchema",
        f"{info.filename} holds an inferred schema from an old export format, which pyconvex "
        "does not read; export the data again",
    )


def _zip_rows(
    archive: zipfile.ZipFile, table: str, info: zipfile.ZipInfo, uniform: bool
) -> Iterator[dict[str, Value]]:
    with _zip_errors(info.filename), archive.open(info) as entry:
        for row, line in enumerate(entry, 1):
            try:
                parsed = _parse_json_row(row, line)
                if not uniform:
                    yield _inferred_row(row, parsed)
                    continue
                if type(parsed) is not dict:
                    raise SnapshotImportError("NotAnObject", f"Row {row} wasn't an object")
                try:
                    document: dict[str, Value] = decode_export_json(parsed)
                except InvalidValueError as error:
                    raise SnapshotImportError(
                        "InvalidConvexValue",
                        f"Row {row} wasn't a valid Convex value: {error.message}",
                    ) from None
            except SnapshotImportError as error:
                raise SnapshotImportError(error.code, f'Table "{table}": {error.message}') from None
            yield document


@contextlib.contextmanager
def _zip_errors(name: str) -> Iterator[None]:
    """Turn a damaged entry's errors (bad CRC, truncated data) into ``InvalidZip``."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise SnapshotImportError("InvalidZip", f"{name}: {error}") from None


# --------------------------------------------------------------------------- import core


@dataclass
class _Source:
    """One table to import: its name, the table number its IDs carry, its documents."""

    name: str
    number: int | None
    documents: Iterator[dict[str, Any]]


def _peek_table_number(
    documents: Iterator[dict[str, Any]],
) -> tuple[int | None, Iterator[dict[str, Any]]]:
    # As Convex: the first document's _id says which number a new table takes.
    first = next(documents, None)
    if first is None:
        return None, documents
    rows = itertools.chain([first], documents)
    given = first.get("_id") if isinstance(first, dict) else None
    if type(given) is not str:
        return None, rows
    try:
        number, _ = decode_id(given)
    except InvalidIdError:
        return None, rows  # reported with its row when the document is imported
    return number, rows


def _run_import(
    database: Database,
    sources: list[_Source],
    mode: ImportMode,
    batch_size: int,
    progress: Progress | None,
) -> dict[str, int]:
    if mode not in ("error_if_exists", "replace", "append"):
        raise SnapshotImportError("InvalidMode", f"Unknown import mode {mode!r}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    owners: dict[int, str] = {}
    for source in sources:
        _check_table_name(source.name)
        if source.number is not None:
            other = owners.setdefault(source.number, source.name)
            if other != source.name:
                raise SnapshotImportError(
                    "InvalidId",
                    f"conflict between `{other}` and `{source.name}` with number {source.number}",
                )
    if mode == "append":
        return _import_append(database, sources, batch_size, progress)
    return _import_atomic(database, sources, mode, progress)


def _check_table_name(name: str) -> None:
    if name.startswith("_"):
        raise SnapshotImportError(
            "InvalidTableName", f"Invalid table name {name} starts with metadata prefix '_'"
        )
    if not is_valid_identifier(name):
        raise SnapshotImportError("InvalidTableName", f"{name!r} isn't a valid table name")


def _begin(database: Database) -> Transaction:
    transaction = database.begin(writable=True)
    transaction.limits = _IMPORT_LIMITS
    return transaction


def _import_atomic(
    database: Database, sources: list[_Source], mode: ImportMode, progress: Progress | None
) -> dict[str, int]:
    """Import every table in one commit (``error_if_exists`` and ``replace``)."""
    numbers = _Numbers(database)
    counts = {source.name: 0 for source in sources}
    staged: list[tuple[str, dict[str, Value]]] | None = None
    for _ in range(_ATTEMPTS):
        transaction = _begin(database)
        moves = numbers.place_tables(transaction, sources, mode)
        for source in sources:
            found = transaction.prepare_import_table(source.name, delete_existing=mode == "replace")
            if found and mode == "error_if_exists":
                raise SnapshotImportError(
                    "TableExists",
                    f"Table {source.name} already exists. Please choose a new table name or "
                    "use replace/append modes.",
                )
        if staged is None:
            for source in sources:
                counts[source.name] = _stage(transaction, source.name, source.documents, progress)
        else:
            # A retry: the documents validated last time, with the IDs they got.
            rows = dict.fromkeys(counts, 0)
            for name, document in staged:
                rows[name] += 1
                _import_row(transaction, name, rows[name], document)
        try:
            if moves:
                database.commit_with_catalog_change(
                    transaction, functools.partial(_renumbered, moves=moves), origin="import"
                ).result()
            else:
                database.commit(transaction, origin="import").result()
        except CommitConflict:
            staged = [
                (w.table.name, w.new) for w in transaction.writes.values() if w.new is not None
            ]
            continue
        return counts
    names = ", ".join(source.name for source in sources)
    raise SnapshotImportError(
        "ImportConflict",
        f"The import was abandoned: tables {names} kept being written while it ran. Try again.",
    )


def _import_append(
    database: Database, sources: list[_Source], batch_size: int, progress: Progress | None
) -> dict[str, int]:
    """Import in batches of ``batch_size`` documents, each its own commit."""
    numbers = _Numbers(database)
    # Missing tables are created first, in one commit, so that every batch
    # (and every v.id() check of the other tables) sees all of them.
    for _ in range(_ATTEMPTS):
        transaction = _begin(database)
        numbers.place_tables(transaction, sources, "append")
        if transaction.is_read_only():
            break
        try:
            database.commit(transaction, origin="import").result()
            break
        except CommitConflict:
            continue
    else:
        raise SnapshotImportError("ImportConflict", "The import's tables could not be created")
    counts: dict[str, int] = {}
    for source in sources:
        count = 0
        batch: list[tuple[int, dict[str, Any]]] = []
        for row, document in enumerate(source.documents, 1):
            batch.append((row, document))
            if len(batch) >= batch_size:
                count += _commit_batch(database, source.name, batch)
                batch = []
                if progress is not None:
                    progress(source.name, count)
        if batch:
            count += _commit_batch(database, source.name, batch)
        if progress is not None:
            progress(source.name, count)
        counts[source.name] = count
    return counts


def _commit_batch(database: Database, table: str, batch: list[tuple[int, dict[str, Any]]]) -> int:
    for _ in range(_ATTEMPTS):
        transaction = _begin(database)
        for row, document in batch:
            _import_row(transaction, table, row, document)
        try:
            database.commit(transaction, origin="import").result()
        except CommitConflict:
            continue
        return len(batch)
    raise SnapshotImportError(
        "ImportConflict", f'Table "{table}" kept being written while the import ran. Try again.'
    )


class _Numbers:
    """Gives each imported table the number of its IDs, across the attempts of one import.

    A table that does not exist is created with that number; an existing
    table with another number is renumbered (``replace`` and
    ``error_if_exists`` only: its documents all go, as Convex replaces the
    whole table). A number can be taken when no other table keeps it and
    either a renumbered table frees it or it was never handed out: a smaller
    free number might belong to a transaction still in flight.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._tables: dict[str, TableInfo] = {}  # created by this import, kept across retries
        self._claimed: set[int] = set()

    def place_tables(
        self, transaction: Transaction, sources: list[_Source], mode: ImportMode
    ) -> dict[str, int]:
        """Renumber and create the tables in ``transaction``; return the renumbering."""
        catalog = transaction.catalog
        moves: dict[str, int] = {}
        for source in sources:
            table = catalog.table(source.name)
            if table is not None and source.number not in (None, table.number):
                assert source.number is not None
                moves[source.name] = source.number
        if moves and mode == "append":
            name, number = next(iter(moves.items()))
            raise SnapshotImportError(
                "ImportConflict",
                f'Table "{name}" has number {catalog.tables[name].number} in this deployment, '
                f"but its imported IDs have number {number}: appending to it cannot keep them. "
                "Replace the table instead, or import into a new deployment.",
            )
        freed = {catalog.tables[name].number for name in moves}
        kept = {t.number: t.name for t in catalog.tables.values() if t.name not in moves}
        for name, number in moves.items():
            self._take(number, name, kept.get(number), freed)
        if moves:
            # Staging sees the final numbers (IDs, v.id() checks); the commit applies them.
            transaction.catalog = _renumbered(catalog, moves)
        for source in sources:
            if transaction.table(source.name) is None:
                table = self._tables.get(source.name)
                if table is None:
                    table = self._tables[source.name] = self._new_table(transaction, source, freed)
                try:
                    transaction.create_table_for_import(table)
                except PyConvexError as error:
                    raise SnapshotImportError("ImportConflict", error.message) from None
        return moves

    def _new_table(self, transaction: Transaction, source: _Source, freed: set[int]) -> TableInfo:
        allocator = self._database.allocator
        if source.number is None:
            number, first_index = allocator.table()
            return TableInfo(source.name, number, builtin_indexes(first_index))
        owner = transaction.table_by_number(source.number)
        self._take(source.number, source.name, owner.name if owner else None, freed)
        return TableInfo(source.name, source.number, builtin_indexes(allocator.index_pair()))

    def _take(self, number: int, name: str, owner: str | None, freed: set[int]) -> None:
        cannot = f'Cannot give table "{name}" the number {number} of its imported IDs'
        if owner is not None:
            raise SnapshotImportError(
                "ImportConflict", f'{cannot}: table "{owner}" has that number in this deployment'
            )
        if number in freed or number in self._claimed:
            return
        if number < FIRST_USER_TABLE_NUMBER:
            raise SnapshotImportError("ImportConflict", f"{cannot}: it is a system table number")
        if not self._database.allocator.claim(number):
            raise SnapshotImportError(
                "ImportConflict",
                f"{cannot}: this deployment has handed that number out already. Import into "
                "a new deployment, or import the documents without their _id fields.",
            )
        self._claimed.add(number)


def _renumbered(catalog: Catalog, moves: dict[str, int]) -> Catalog:
    tables = dict(catalog.tables)
    for name, number in moves.items():
        tables[name] = dataclasses.replace(tables[name], number=number)
    top = max(moves.values())
    return dataclasses.replace(
        catalog, tables=tables, next_table_number=max(catalog.next_table_number, top + 1)
    )


def _stage(
    transaction: Transaction,
    table: str,
    documents: Iterable[dict[str, Any]],
    progress: Progress | None,
) -> int:
    count = 0
    for count, document in enumerate(documents, 1):
        _import_row(transaction, table, count, document)
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress(table, count)
    if progress is not None:
        progress(table, count)
    return count


def _import_row(transaction: Transaction, table: str, row: int, document: Any) -> None:
    try:
        transaction.import_document(table, document)
    except PyConvexError as error:
        given = document.get("_id") if isinstance(document, dict) else None
        which = f' (_id "{given}")' if type(given) is str else ""
        # Same error class, so callers can still tell schema failures apart.
        raise type(error)(f'Row {row}{which} of table "{table}": {error.message}') from None
