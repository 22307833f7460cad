"""Snapshot export and import (database/snapshot.py, Transaction.import_document)."""

from __future__ import annotations

import io
import json
import math
import stat
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from pyconvex import Int64, v
from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.database.schema import define_schema, define_table
from pyconvex.database.snapshot import (
    SnapshotImportError,
    export_snapshot,
    import_documents,
    import_file,
    import_zip,
    read_csv,
    read_json_array,
    read_jsonl,
)
from pyconvex.errors import DocumentError, InvalidIdError, SchemaValidationError
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.values.ids import decode_id, encode_id
from pyconvex.values.json import dumps

from .conftest import commit, query

EVERY_VALUE: dict[str, Any] = {
    "null": None,
    "true": True,
    "false": False,
    "int_max": Int64(2**63 - 1),
    "int_min": Int64(-(2**63)),
    "int_zero": Int64(0),
    "float_one": 1.0,
    "neg_zero": -0.0,
    "nan": math.nan,
    "inf": math.inf,
    "neg_inf": -math.inf,
    "tiny": 5e-324,
    "huge": 1.7976931348623157e308,
    "third": 1 / 3,
    "bytes": b"\x00\x01\xfe\xff",
    "empty_bytes": b"",
    "text": 'héllo \U0001f600 "quoted"\n',
    "empty": "",
    "nested": {"list": [Int64(1), 2.5, [b"x", {"deep": -0.0}]], "obj": {}, "arr": []},
}


def insert(database: Database, table: str, *documents: dict[str, Any]) -> list[str]:
    transaction = database.begin(writable=True)
    ids = [transaction.insert(table, dict(document)) for document in documents]
    commit(database, transaction)
    return ids


def all_documents(database: Database, table: str) -> list[dict[str, Any]]:
    return list(query(database.begin(writable=False), table).collect())


def exported(database: Database) -> bytes:
    out = io.BytesIO()
    export_snapshot(database, out)
    return out.getvalue()


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def same(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> bool:
    # The lossless wire text tells NaN, -0.0, Int64 and float apart exactly.
    return [dumps(d) for d in left] == [dumps(d) for d in right]


@pytest.fixture
def fresh() -> Iterator[Database]:
    persistence = MemoryPersistence()
    database = Database(persistence)
    yield database
    database.close()
    persistence.close()


# --------------------------------------------------------------------------- round trip


def test_round_trip_keeps_every_value_and_the_system_fields(db: Database, fresh: Database) -> None:
    insert(db, "things", EVERY_VALUE, {"n": 1.0})
    (thing,) = insert(db, "things", {"n": 2.0})
    insert(db, "refs", {"thing": thing})
    before = {table: all_documents(db, table) for table in ("things", "refs")}
    data = exported(db)

    counts = import_zip(fresh, io.BytesIO(data))

    assert counts == {"things": 3, "refs": 1}
    for table, documents in before.items():
        assert same(all_documents(fresh, table), documents)
    assert fresh.begin(writable=False).get(thing) == {**before["things"][2]}
    # Exporting the copy gives the same tables, byte for byte.
    assert entries(exported(fresh)) == entries(data)


def test_the_zip_layout_is_convexs(db: Database) -> None:
    (first,) = insert(db, "messages", {"body": "hi", "n": Int64(7), "f": 1.0, "b": b"\x01"})
    insert(db, "empty_later", {"x": 1.0})
    transaction = db.begin(writable=True)
    for document in query(transaction, "empty_later").collect():
        transaction.delete(document["_id"])
    commit(db, transaction)
    data = exported(db)
    files = entries(data)
    messages = decode_id(first)[0]

    assert list(files) == [
        "README.md",
        "_tables/documents.jsonl",
        "messages/documents.jsonl",
        "messages/generated_schema.jsonl",
        "empty_later/documents.jsonl",
        "empty_later/generated_schema.jsonl",
    ]
    assert (
        files["_tables/documents.jsonl"]
        == (
            f'{{"name":"messages","id":{messages}}}\n{{"name":"empty_later","id":{messages + 1}}}\n'
        ).encode()
    )
    assert files["messages/generated_schema.jsonl"] == b'"uniform"\n'
    assert files["empty_later/documents.jsonl"] == b""
    (line,) = files["messages/documents.jsonl"].decode().splitlines()
    created = all_documents(db, "messages")[0]["_creationTime"]
    # Sorted keys, int64 bare, floats with a ".", bytes wrapped: Convex's export JSON.
    assert line == (
        f'{{"_creationTime":{created!r},"_id":"{first}","b":{{"$bytes":"AQ=="}},'
        f'"body":"hi","f":1.0,"n":7}}'
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert stat.S_IMODE(info.external_attr >> 16) == 0o644
        assert archive.testzip() is None


def test_system_tables_are_not_exported(db: Database) -> None:
    insert(db, "t", {"a": 1.0})
    names = list(entries(exported(db)))
    assert not any(name.startswith(("_storage", "_scheduled")) for name in names)
    listed = entries(exported(db))["_tables/documents.jsonl"].decode().splitlines()
    assert [json.loads(line)["name"] for line in listed] == ["t"]


def test_the_export_is_one_snapshot_while_writes_happen(db: Database) -> None:
    ids = insert(db, "a", *({"i": float(i)} for i in range(5)))
    insert(db, "b", {"i": 0.0})
    writes = []

    def progress(table: str, count: int) -> None:
        # Commit while the export runs: nothing of it may show in the ZIP.
        if table == "a" and not writes:
            transaction = db.begin(writable=True)
            transaction.insert("a", {"i": 99.0})
            transaction.insert("b", {"i": 99.0})
            transaction.delete(ids[0])
            writes.append(commit(db, transaction))

    out = io.BytesIO()
    ts = export_snapshot(db, out, progress=progress)

    assert writes and writes[0] > ts
    files = entries(out.getvalue())
    a = [json.loads(line) for line in files["a/documents.jsonl"].splitlines()]
    b = [json.loads(line) for line in files["b/documents.jsonl"].splitlines()]
    assert [d["i"] for d in a] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [d["i"] for d in b] == [0.0]
    assert a[0]["_id"] == ids[0]


def test_a_big_table_streams_past_the_transaction_read_limits(
    db: Database, fresh: Database
) -> None:
    transaction = db.begin(writable=True)
    for i in range(3000):
        transaction.insert("big", {"i": float(i)})
    commit(db, transaction)
    seen: list[int] = []
    out = io.BytesIO()
    limited = Database(db.persistence)  # same data, a tiny read budget for transactions
    try:
        from pyconvex.database.transaction import TransactionLimits

        limited.limits = TransactionLimits(max_read_rows=10)
        export_snapshot(limited, out, progress=lambda table, count: seen.append(count))
    finally:
        limited.close()
    assert seen == [1000, 2000, 3000, 3000]
    assert import_zip(fresh, io.BytesIO(out.getvalue())) == {"big": 3000}


# --------------------------------------------------------------------------- modes


def test_error_if_exists_refuses_a_table_with_documents(db: Database) -> None:
    insert(db, "t", {"old": True})
    with pytest.raises(SnapshotImportError, match="Table t already exists") as caught:
        import_documents(db, "t", [{"new": True}])
    assert caught.value.code == "TableExists"
    assert [d["old"] for d in all_documents(db, "t")] == [True]


def test_error_if_exists_takes_an_existing_empty_table(db: Database) -> None:
    (gone,) = insert(db, "t", {"old": True})
    transaction = db.begin(writable=True)
    transaction.delete(gone)
    commit(db, transaction)
    assert import_documents(db, "t", [{"new": True}]) == 1
    assert [d["new"] for d in all_documents(db, "t")] == [True]


def test_replace_deletes_the_old_documents_and_keeps_imported_ids(db: Database) -> None:
    kept, dropped = insert(db, "t", {"v": 1.0}, {"v": 2.0})
    old = {d["_id"]: d for d in all_documents(db, "t")}
    replacement = {**old[kept], "v": 10.0}  # the same _id and _creationTime, new content
    new_doc = {"v": 3.0}

    assert import_documents(db, "t", [replacement, new_doc], mode="replace") == 2

    documents = all_documents(db, "t")
    assert [d["v"] for d in documents] == [10.0, 3.0]
    assert documents[0]["_id"] == kept
    assert documents[0]["_creationTime"] == old[kept]["_creationTime"]
    snapshot = db.begin(writable=False)
    assert snapshot.get(dropped) is None
    assert len(query(snapshot, "t").with_index("by_id").collect()) == 2


def test_append_adds_in_batches_and_refuses_existing_ids(db: Database) -> None:
    (existing,) = insert(db, "t", {"v": 0.0})
    assert import_documents(db, "t", [{"v": float(i)} for i in range(1, 6)], mode="append") == 5
    assert len(all_documents(db, "t")) == 6

    number = decode_id(existing)[0]
    fresh_id = encode_id(number, bytes(range(16)))
    rows = [{"_id": fresh_id, "v": 7.0}, {"_id": existing, "v": 8.0}]
    with pytest.raises(DocumentError, match=f'Row 2 \\(_id "{existing}"\\).*already exists'):
        import_documents(db, "t", rows, mode="append", batch_size=1)
    # Append is not atomic (as in Convex): the first batch stays.
    assert db.begin(writable=False).get(fresh_id) is not None
    assert len(all_documents(db, "t")) == 7


def test_a_failing_replace_leaves_every_table_as_it_was(db: Database, fresh: Database) -> None:
    insert(fresh, "a", {"v": 1.0})
    insert(fresh, "b", {"v": 2.0})
    data = exported(fresh)
    insert(db, "a", {"old": "a"})
    insert(db, "b", {"old": "b"})
    before = {t: all_documents(db, t) for t in ("a", "b")}
    db.apply_schema(define_schema({"b": define_table({"old": v.string()})}))

    # "a" imports fine, "b" fails its schema: the import is one commit, so neither changes.
    with pytest.raises(SchemaValidationError, match='of table "b"'):
        import_zip(db, io.BytesIO(data), mode="replace")
    for table, documents in before.items():
        assert same(all_documents(db, table), documents)

    with pytest.raises(SnapshotImportError):  # a bad row in the middle of a replace
        import_documents(db, "a", iter_then_fail([{"v": 1.0}]), mode="replace")
    assert same(all_documents(db, "a"), before["a"])


def iter_then_fail(documents: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from documents
    raise SnapshotImportError("JsonInvalidRow", "Row 2 wasn't valid JSON")


# --------------------------------------------------------------------------- ids, schema


def test_a_new_table_takes_the_number_of_its_ids(db: Database) -> None:
    number = db.state.catalog.next_table_number + 5
    document_id = encode_id(number, bytes(16))
    import_documents(db, "later", [{"_id": document_id, "x": 1.0}, {"x": 2.0}])
    table = db.state.catalog.table("later")
    assert table is not None and table.number == number
    ids = [d["_id"] for d in all_documents(db, "later")]
    assert ids[0] == document_id and decode_id(ids[1])[0] == number
    # A table created afterwards never reuses the number.
    (other,) = insert(db, "other", {"y": 1.0})
    assert decode_id(other)[0] > number


def test_ids_of_another_table_number_are_refused(db: Database) -> None:
    (taken,) = insert(db, "taken", {"x": 1.0})
    with pytest.raises(SnapshotImportError, match='table "taken" has that number'):
        import_documents(db, "newtable", [{"_id": taken, "x": 2.0}])
    insert(db, "mine", {"x": 1.0})
    # Appending keeps the table's number, so IDs of another number cannot go in.
    with pytest.raises(SnapshotImportError, match="appending to it cannot keep them"):
        import_documents(db, "mine", [{"_id": taken}], mode="append")
    with pytest.raises(DocumentError, match=f'Row 2 \\(_id "{taken}"\\) of table "mine"'):
        import_documents(db, "mine", [{"x": 2.0}, {"_id": taken}], mode="append")
    with pytest.raises(InvalidIdError, match="Row 2 .*Unable to decode ID"):
        import_documents(db, "mine", [{"x": 2.0}, {"_id": "nope"}], mode="append")
    # A free number below the next one may belong to a transaction in flight.
    in_flight = db.begin(writable=True)
    in_flight.insert("pending", {})
    number = in_flight.created_tables["pending"].number
    with pytest.raises(SnapshotImportError, match="handed that number out already"):
        import_documents(db, "newtable", [{"_id": encode_id(number, bytes(16))}])
    assert db.state.catalog.table("newtable") is None
    assert len(all_documents(db, "mine")) == 1


def test_tables_the_schema_numbered_differently_are_renumbered(db: Database) -> None:
    source = Database(MemoryPersistence())
    try:
        (ada,) = insert(source, "users", {"name": "ada"})
        insert(source, "posts", {"author": ada}, {"author": ada})
        data = exported(source)
        expected = {t: all_documents(source, t) for t in ("users", "posts")}
    finally:
        source.close()
    # The target's schema created the same tables in the other order: numbers swapped.
    db.apply_schema(
        define_schema(
            {
                "posts": define_table({"author": v.id("users")}).index("by_author", ["author"]),
                "users": define_table({"name": v.string()}),
            }
        )
    )
    catalog = db.state.catalog
    users, posts = catalog.tables["users"], catalog.tables["posts"]
    assert users.number == posts.number + 1

    assert import_zip(db, io.BytesIO(data)) == {"users": 1, "posts": 2}

    catalog = db.state.catalog
    assert catalog.tables["users"].number == posts.number
    assert catalog.tables["posts"].number == users.number
    for table, documents in expected.items():
        assert same(all_documents(db, table), documents)
    rows = (
        query(db.begin(writable=False), "posts")
        .with_index("by_author", lambda q: q.eq("author", ada))
        .collect()
    )
    assert len(rows) == 2
    (later,) = insert(db, "users", {"name": "bob"})
    assert decode_id(later)[0] == posts.number


def test_replace_renumbers_a_table_and_retires_its_old_ids(db: Database) -> None:
    (old,) = insert(db, "t", {"v": 1.0})
    number = db.state.catalog.next_table_number + 3
    new_id = encode_id(number, bytes(16))
    writer = db.begin(writable=True)  # began under the old numbering

    assert import_documents(db, "t", [{"_id": new_id, "v": 2.0}], mode="replace") == 1

    table = db.state.catalog.table("t")
    assert table is not None and table.number == number
    snapshot = db.begin(writable=False)
    assert snapshot.get(old) is None
    assert [d["_id"] for d in all_documents(db, "t")] == [new_id]
    writer.insert("t", {"v": 3.0})
    with pytest.raises(CommitConflict):
        commit(db, writer)
    (later,) = insert(db, "t", {"v": 4.0})
    assert decode_id(later)[0] == number
    reopened = Database(db.persistence)  # the numbering is stored with the data
    try:
        reopened_table = reopened.state.catalog.table("t")
        assert reopened_table is not None and reopened_table.number == number
        (other,) = insert(reopened, "other", {})
        assert decode_id(other)[0] > number
    finally:
        reopened.close()


def test_duplicate_ids_and_bad_creation_times_are_refused(db: Database) -> None:
    document_id = encode_id(db.state.catalog.next_table_number, bytes(16))
    with pytest.raises(DocumentError, match="duplicate _id"):
        import_documents(db, "t", [{"_id": document_id}, {"_id": document_id}])
    for bad in (-1.0, math.nan, math.inf, "yesterday"):
        with pytest.raises(DocumentError, match="Invalid _creationTime"):
            import_documents(db, "t2", [{"_creationTime": bad}])
    assert import_documents(db, "t3", [{"_creationTime": Int64(5)}]) == 1
    assert all_documents(db, "t3")[0]["_creationTime"] == 5.0


def test_documents_are_checked_against_the_schema(db: Database) -> None:
    db.apply_schema(
        define_schema(
            {
                "users": define_table({"name": v.string()}),
                "posts": define_table({"author": v.id("users"), "n": v.int64()}),
            }
        )
    )
    users = db.state.catalog.table("users")
    assert users is not None
    user = encode_id(users.number, bytes(16))
    import_documents(db, "users", [{"_id": user, "name": "ada"}])
    assert import_documents(db, "posts", [{"author": user, "n": 3}]) == 1  # int → Int64
    assert all_documents(db, "posts")[0]["n"] == Int64(3)

    with pytest.raises(SchemaValidationError) as caught:
        import_documents(
            db, "posts", [{"author": user, "n": Int64(1)}, {"author": 5.0}], mode="append"
        )
    assert 'Row 2 of table "posts"' in caught.value.message
    assert "does not match the schema" in caught.value.message


def test_a_zip_creates_every_table_before_checking_references(fresh: Database) -> None:
    source = Database(MemoryPersistence())
    try:
        transaction = source.begin(writable=True)
        placeholder = transaction.insert("posts", {})  # "posts" gets the lower number
        ada = transaction.insert("users", {"name": "ada"})
        transaction.insert("posts", {"author": ada})
        transaction.delete(placeholder)
        commit(source, transaction)
        data = exported(source)
    finally:
        source.close()
    assert list(entries(data))[2:4] == ["posts/documents.jsonl", "posts/generated_schema.jsonl"]
    # Only "posts" is in the schema; its v.id("users") is checked against "users",
    # which comes later in the ZIP and is created by the import.
    fresh.apply_schema(define_schema({"posts": define_table({"author": v.id("users")})}))

    assert import_zip(fresh, io.BytesIO(data)) == {"posts": 1, "users": 1}
    assert all_documents(fresh, "posts")[0]["author"] == ada


def test_creation_time_order_is_the_index_order(db: Database) -> None:
    number = db.state.catalog.next_table_number
    rows = [
        {"_id": encode_id(number, bytes([i]) * 16), "_creationTime": t, "i": float(i)}
        for i, t in enumerate([300.5, 100.25, 200.0])
    ]
    import_documents(db, "t", rows)
    snapshot = db.begin(writable=False)
    assert [d["i"] for d in query(snapshot, "t").collect()] == [1.0, 2.0, 0.0]
    assert [d["_creationTime"] for d in query(snapshot, "t").order("desc").collect()] == [
        300.5,
        200.0,
        100.25,
    ]


def test_a_write_during_an_atomic_import_makes_it_retry(db: Database) -> None:
    insert(db, "t", {"old": 1.0})

    def documents() -> Iterator[dict[str, Any]]:
        yield {"new": 1.0}
        insert(db, "t", {"sneaked": 1.0})  # commits while the import is staged
        yield {"new": 2.0}

    assert import_documents(db, "t", documents(), mode="replace") == 2
    # The retry read the table again: the document written meanwhile was replaced too.
    assert sorted(d["new"] for d in all_documents(db, "t")) == [1.0, 2.0]

    def late_documents() -> Iterator[dict[str, Any]]:
        yield {"x": 1.0}
        insert(db, "u", {"first": 1.0})

    with pytest.raises(SnapshotImportError, match="Table u already exists"):
        import_documents(db, "u", late_documents())


def test_bad_table_names_are_refused(db: Database) -> None:
    for name in ("_system", "has space", ""):
        with pytest.raises(SnapshotImportError) as caught:
            import_documents(db, name, [{"x": 1.0}])
        assert caught.value.code == "InvalidTableName"


# --------------------------------------------------------------------------- files


def test_jsonl_and_json_arrays_infer_types_as_convex(db: Database) -> None:
    rows = list(read_jsonl(io.BytesIO(b'{"n": 1, "f": 1.5, "s": "x", "o": {"a": [true, null]}}\n')))
    assert rows == [{"n": 1.0, "f": 1.5, "s": "x", "o": {"a": [True, None]}}]
    assert type(rows[0]["n"]) is float
    assert list(read_json_array(io.BytesIO(b'[{"a": 2}, {"b": "c"}]'))) == [{"a": 2.0}, {"b": "c"}]

    cases = [
        (read_jsonl, b'{"a": 1}\n{broken\n', "JsonInvalidRow", "Row 2 wasn't valid JSON"),
        (read_jsonl, b"[1]\n", "NotAnObject", "Row 1 wasn't an object"),
        (read_jsonl, b'{"b": {"$bytes": "AA=="}}\n', "InvalidConvexValue", "Row 1"),
        (read_jsonl, b'\xef\xbb\xbf{"a": 1}\n', "Utf8BomNotSupported", "BOM"),
        (read_json_array, b'{"a": 1}', "NotJsonArray", "Not a JSON array"),
        (read_json_array, b"[1,", "NotJson", "Not valid JSON"),
        (read_json_array, b'[{"a": NaN}]', "NotJson", "NaN"),
    ]
    for reader, data, code, message in cases:
        with pytest.raises(SnapshotImportError, match=message) as caught:
            list(reader(io.BytesIO(data)))
        assert caught.value.code == code


def test_csv_cells_are_numbers_or_strings_as_convex(db: Database) -> None:
    data = b"name, n ,flag,note\nada,1,true,\nbob,-2.5e3,NaN,x y\n"
    rows = list(read_csv(io.BytesIO(data), optional_fields=frozenset({"note"})))
    assert rows == [
        {"name": "ada", "n": 1.0, "flag": "true"},
        {"name": "bob", "n": -2500.0, "flag": None, "note": "x y"},
    ]
    for data, code in [
        (b"a,b\n1\n", "CsvRowMissingFields"),
        (b"$a\n1\n", "CsvInvalidHeader"),
        (b"a\n\xff\n", "CsvInvalidRow"),
        (b"\xef\xbb\xbfa\n1\n", "Utf8BomNotSupported"),
    ]:
        with pytest.raises(SnapshotImportError) as caught:
            list(read_csv(io.BytesIO(data)))
        assert caught.value.code == code


def test_import_file_reads_every_format(db: Database, tmp_path: Any) -> None:
    db.apply_schema(
        define_schema(
            {"people": define_table({"name": v.string(), "age": v.optional(v.float64())})}
        )
    )
    csv_file = tmp_path / "people.csv"
    csv_file.write_bytes(b"name,age\nada,36\nbob,\n")
    assert import_file(db, csv_file, format="csv", table="people") == {"people": 2}
    assert [d.get("age") for d in all_documents(db, "people")] == [36.0, None]
    jsonl = io.BytesIO(b'{"name": "cy"}\n')
    assert import_file(db, jsonl, format="jsonLines", table="people", mode="append") == {
        "people": 1
    }
    array = io.BytesIO(b'[{"name": "di"}]')
    assert import_file(db, array, format="jsonArray", table="people", mode="replace") == {
        "people": 1
    }
    assert [d["name"] for d in all_documents(db, "people")] == ["di"]
    with pytest.raises(SnapshotImportError, match="table name is required"):
        import_file(db, io.BytesIO(b""), format="csv")
    with pytest.raises(SnapshotImportError, match="not allowed"):
        import_file(db, io.BytesIO(b""), format="zip", table="people")


def test_zip_imports_a_subset_and_refuses_bad_archives(db: Database, fresh: Database) -> None:
    insert(db, "a", {"x": 1.0})
    insert(db, "b", {"x": 2.0})
    data = exported(db)
    assert import_zip(fresh, io.BytesIO(data), tables=["b"]) == {"b": 1}
    assert fresh.state.catalog.table("a") is None
    with pytest.raises(SnapshotImportError, match='Table "c" is not in the ZIP'):
        import_zip(fresh, io.BytesIO(data), tables=["c"])
    with pytest.raises(SnapshotImportError) as caught:
        import_zip(fresh, io.BytesIO(b"not a zip"))
    assert caught.value.code == "InvalidZip"

    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("snapshot/t/documents.jsonl", '{"a": 1}\n{"a": \n')
    with pytest.raises(SnapshotImportError, match='Table "t": Row 2 wasn\'t valid JSON'):
        import_zip(fresh, io.BytesIO(broken.getvalue()))


def test_a_zip_without_generated_schemas_is_read_as_plain_json(fresh: Database) -> None:
    # Hand-made ZIPs: like Convex, numbers are float64 without the "uniform" marker.
    plain, uniform = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("t/documents.jsonl", '{"n": 5}\n')
    with zipfile.ZipFile(uniform, "w") as archive:
        archive.writestr("u/documents.jsonl", '{"n": 5}\n')
        archive.writestr("u/generated_schema.jsonl", '"uniform"\n')
    import_zip(fresh, io.BytesIO(plain.getvalue()))
    import_zip(fresh, io.BytesIO(uniform.getvalue()))
    assert type(all_documents(fresh, "t")[0]["n"]) is float
    assert type(all_documents(fresh, "u")[0]["n"]) is Int64
