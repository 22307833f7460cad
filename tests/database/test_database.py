"""Transactions, snapshots, serializable OCC and schema changes (database/database.py)."""

from __future__ import annotations

import pytest

from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.database.schema import define_schema, define_table
from pyconvex.errors import DocumentError, QueryError, SchemaError, SchemaValidationError
from pyconvex.storage.sqlite import SqlitePersistence
from pyconvex.values.model import UNDEFINED, Int64
from pyconvex.values.validators import v

from .conftest import commit, query


def insert(db: Database, table: str, **fields: object) -> str:
    transaction = db.begin(writable=True)
    document_id = transaction.insert(table, dict(fields))
    commit(db, transaction)
    return document_id


def test_insert_then_get_in_a_later_transaction(db: Database) -> None:
    document_id = insert(db, "messages", body="hello", n=Int64(3))
    document = db.begin(writable=False).get(document_id)
    assert document is not None
    assert document["body"] == "hello"
    assert document["n"] == 3 and type(document["n"]) is Int64
    assert document["_id"] == document_id
    assert isinstance(document["_creationTime"], float)
    assert len(document_id) == 32  # user tables start at 10001: 20 bytes, 32 chars


def test_a_transaction_sees_its_own_writes(db: Database) -> None:
    kept = insert(db, "t", a=1)
    gone = insert(db, "t", a=2)
    transaction = db.begin(writable=True)
    new = transaction.insert("t", {"a": 3})
    transaction.delete(gone)
    transaction.patch(kept, {"a": 10})
    assert transaction.get(gone) is None
    assert transaction.get(new) == {
        "a": 3.0,
        "_id": new,
        "_creationTime": pytest.approx(transaction.get(new)["_creationTime"]),
    }  # type: ignore[index]
    values = [d["a"] for d in query(transaction, "t").collect()]
    assert values == [10.0, 3.0]
    assert query(transaction, "t").order("desc").first()["a"] == 3.0  # type: ignore[index]


def test_reads_are_at_the_begin_snapshot(db: Database) -> None:
    document_id = insert(db, "t", a=1)
    reader = db.begin(writable=False)
    writer = db.begin(writable=True)
    writer.patch(document_id, {"a": 2})
    commit(db, writer)
    assert reader.get(document_id)["a"] == 1.0  # type: ignore[index]
    assert db.begin(writable=False).get(document_id)["a"] == 2.0  # type: ignore[index]


def test_blind_inserts_do_not_conflict(db: Database) -> None:
    insert(db, "t", a=0)
    first = db.begin(writable=True)
    second = db.begin(writable=True)
    first.insert("t", {"a": 1})
    second.insert("t", {"a": 2})
    commit(db, first)
    commit(db, second)
    assert len(query(db.begin(writable=False), "t").collect()) == 3


def test_read_then_write_conflicts(db: Database) -> None:
    document_id = insert(db, "t", count=0)
    first = db.begin(writable=True)
    second = db.begin(writable=True)
    for transaction in (first, second):
        current = transaction.get(document_id)
        assert current is not None
        transaction.patch(document_id, {"count": current["count"] + 1})
    commit(db, first)
    with pytest.raises(CommitConflict) as caught:
        commit(db, second)
    assert caught.value.conflict.table == "t"
    assert caught.value.conflict.document_id == document_id


def test_a_phantom_insert_into_a_read_range_conflicts(db: Database) -> None:
    db.apply_schema(define_schema({"t": define_table({"k": v.string()}).index("by_k", ["k"])}))
    reader = db.begin(writable=True)
    assert query(reader, "t").with_index("by_k", lambda q: q.eq("k", "x")).collect() == []
    reader.insert("log", {"saw": 0})
    writer = db.begin(writable=True)
    writer.insert("t", {"k": "x"})
    commit(db, writer)
    with pytest.raises(CommitConflict):
        commit(db, reader)


def test_an_insert_outside_the_read_range_does_not_conflict(db: Database) -> None:
    db.apply_schema(define_schema({"t": define_table({"k": v.string()}).index("by_k", ["k"])}))
    reader = db.begin(writable=True)
    query(reader, "t").with_index("by_k", lambda q: q.eq("k", "x")).collect()
    reader.insert("log", {"saw": 0})
    writer = db.begin(writable=True)
    writer.insert("t", {"k": "y"})
    commit(db, writer)
    commit(db, reader)


def test_take_records_only_the_consumed_part_of_the_range(db: Database) -> None:
    for n in range(5):
        insert(db, "t", n=n)
    reader = db.begin(writable=True)
    assert [d["n"] for d in query(reader, "t").take(2)] == [0.0, 1.0]
    reader.insert("log", {"x": 1})
    writer = db.begin(writable=True)
    writer.insert("t", {"n": 99})  # newest creation time: after the window
    commit(db, writer)
    commit(db, reader)  # no conflict

    reader = db.begin(writable=True)
    query(reader, "t").take(2)
    reader.insert("log", {"x": 2})
    first = query(db.begin(writable=False), "t").first()
    assert first is not None
    writer = db.begin(writable=True)
    writer.delete(first["_id"])  # inside the window
    commit(db, writer)
    with pytest.raises(CommitConflict):
        commit(db, reader)


def test_creating_the_same_table_concurrently_conflicts(db: Database) -> None:
    first = db.begin(writable=True)
    second = db.begin(writable=True)
    first.insert("fresh", {"a": 1})
    second.insert("fresh", {"a": 2})
    commit(db, first)
    with pytest.raises(CommitConflict):
        commit(db, second)
    retry = db.begin(writable=True)
    retry.insert("fresh", {"a": 2})
    commit(db, retry)
    assert len(query(db.begin(writable=False), "fresh").collect()) == 2


def test_creation_times_strictly_increase(db: Database) -> None:
    transaction = db.begin(writable=True)
    ids = [transaction.insert("t", {"i": i}) for i in range(50)]
    commit(db, transaction)
    later = insert(db, "t", i=50)
    snapshot = db.begin(writable=False)
    times = [snapshot.get(i)["_creationTime"] for i in [*ids, later]]  # type: ignore[index]
    assert all(a < b for a, b in zip(times, times[1:]))


def test_patch_removes_fields_set_to_undefined_and_keeps_null(db: Database) -> None:
    document_id = insert(db, "t", a=1, b=2, c={"x": 1})
    transaction = db.begin(writable=True)
    transaction.patch(document_id, {"a": UNDEFINED, "b": None, "c": {"y": 2}})
    commit(db, transaction)
    document = db.begin(writable=False).get(document_id)
    assert document is not None
    assert "a" not in document
    assert document["b"] is None
    assert document["c"] == {"y": 2.0}  # nested objects are replaced, not merged


def test_replace_keeps_system_fields(db: Database) -> None:
    document_id = insert(db, "t", a=1)
    before = db.begin(writable=False).get(document_id)
    transaction = db.begin(writable=True)
    transaction.replace(document_id, {"b": 2})
    commit(db, transaction)
    after = db.begin(writable=False).get(document_id)
    assert before is not None and after is not None
    assert after == {"b": 2.0, "_id": document_id, "_creationTime": before["_creationTime"]}


def test_write_errors_use_convex_messages(db: Database) -> None:
    document_id = insert(db, "t", a=1)
    transaction = db.begin(writable=True)
    transaction.delete(document_id)
    with pytest.raises(DocumentError, match=f"Update on nonexistent document ID {document_id}"):
        transaction.patch(document_id, {"a": 2})
    with pytest.raises(DocumentError, match="Replace on nonexistent document ID"):
        transaction.replace(document_id, {"a": 2})
    with pytest.raises(DocumentError, match="Delete on nonexistent document ID"):
        transaction.delete(document_id)
    with pytest.raises(DocumentError, match="System tables"):
        transaction.insert("_storage", {"a": 1})
    with pytest.raises(DocumentError, match="Provided document ID"):
        transaction.insert("t", {"_id": "x"})
    other = insert(db, "t", a=3)
    with pytest.raises(DocumentError, match="doesn't match '_id'"):
        db.begin(writable=True).patch(other, {"_id": document_id})


def test_queries_cannot_write(db: Database) -> None:
    with pytest.raises(DocumentError, match="not allowed in queries"):
        db.begin(writable=False).insert("t", {"a": 1})


def test_querying_a_missing_table_returns_nothing(db: Database) -> None:
    assert query(db.begin(writable=False), "nothing").collect() == []


def test_schema_validates_every_write(db: Database) -> None:
    db.apply_schema(define_schema({"users": define_table({"name": v.string()})}))
    transaction = db.begin(writable=True)
    with pytest.raises(
        SchemaValidationError, match='Failed to insert or update a document in table "users"'
    ):
        transaction.insert("users", {"name": 5})
    user = transaction.insert("users", {"name": "ada"})
    with pytest.raises(SchemaValidationError):
        transaction.patch(user, {"age": 3})
    transaction.insert("not_in_schema", {"anything": [1, "x"]})  # not validated


def test_schema_change_refuses_bad_existing_documents(db: Database) -> None:
    bad = insert(db, "users", name=5)
    with pytest.raises(SchemaError, match=f'Document with ID "{bad}" in table "users"'):
        db.apply_schema(define_schema({"users": define_table({"name": v.string()})}))
    # Nothing changed: writes are still unvalidated.
    insert(db, "users", name=6)


def test_new_indexes_are_backfilled(db: Database) -> None:
    for name in ["carol", "alice", "bob"]:
        insert(db, "users", name=name)
    with pytest.raises(QueryError, match="Index users.by_name not found"):
        query(db.begin(writable=False), "users").with_index("by_name").collect()
    db.apply_schema(
        define_schema({"users": define_table({"name": v.string()}).index("by_name", ["name"])})
    )
    insert(db, "users", name="aaron")
    names = [
        d["name"] for d in query(db.begin(writable=False), "users").with_index("by_name").collect()
    ]
    assert names == ["aaron", "alice", "bob", "carol"]


def test_dropped_indexes_disappear(db: Database) -> None:
    schema = define_schema({"users": define_table({"name": v.string()}).index("by_name", ["name"])})
    db.apply_schema(schema)
    db.apply_schema(define_schema({"users": define_table({"name": v.string()})}))
    with pytest.raises(QueryError, match="not found"):
        query(db.begin(writable=False), "users").with_index("by_name").collect()


def test_a_writer_that_began_before_a_schema_change_conflicts(db: Database) -> None:
    writer = db.begin(writable=True)
    writer.insert("users", {"name": 5})
    db.apply_schema(define_schema({"users": define_table({"name": v.string()})}))
    with pytest.raises(CommitConflict):
        commit(db, writer)


def test_reopening_sqlite_keeps_data_catalog_and_timestamps(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "app.sqlite3"
    persistence = SqlitePersistence(path)
    database = Database(persistence)
    database.apply_schema(
        define_schema({"users": define_table({"name": v.string()}).index("by_name", ["name"])})
    )
    document_id = insert(database, "users", name="ada")
    other = insert(database, "loose", x=b"\x00\x01")
    last_ts = database.latest_ts
    database.close()
    persistence.close()

    persistence = SqlitePersistence(path)
    database = Database(persistence)
    try:
        assert database.latest_ts == last_ts
        snapshot = database.begin(writable=False)
        assert snapshot.get(document_id)["name"] == "ada"  # type: ignore[index]
        assert snapshot.get(other)["x"] == b"\x00\x01"  # type: ignore[index]
        found = (
            query(snapshot, "users").with_index("by_name", lambda q: q.eq("name", "ada")).unique()
        )
        assert found is not None and found["_id"] == document_id
        assert insert(database, "loose", x=1) != other
        assert database.latest_ts > last_ts
    finally:
        database.close()
        persistence.close()


def test_schema_changes_keep_system_table_indexes(db: Database) -> None:
    db.apply_schema(define_schema({"users": define_table({"name": v.string()})}))
    system = db.state.catalog.tables["_session_requests"]
    assert "by_session_request" in system.indexes


def test_a_system_index_new_in_this_version_is_filled_from_existing_rows() -> None:
    from pyconvex.database.catalog import Catalog, IndexState
    from pyconvex.database.query import QueryInitializer
    from pyconvex.storage.memory import MemoryPersistence

    persistence = MemoryPersistence()
    old = Database(persistence)
    transaction = old.begin(writable=True)
    transaction.system_writes = True
    job = transaction.insert(
        "_scheduled_functions", {"name": "a:b", "scheduledTime": 1.0, "state": {"kind": "pending"}}
    )
    commit(old, transaction)
    old.close()
    # As an older version saved it: without the index.
    saved = Catalog.from_json(persistence.get_global("catalog") or Catalog.bootstrap().to_json())
    older = saved.without_index("_scheduled_functions", "by_state_scheduled_time")
    persistence.write((), (), [("catalog", older.to_json())])
    db = Database(persistence)
    try:
        db.apply_schema(None)
        index = db.state.catalog.tables["_scheduled_functions"].indexes["by_state_scheduled_time"]
        assert index.state is IndexState.ENABLED
        found = (
            QueryInitializer(db.begin(writable=False), "_scheduled_functions", sync=True)
            .with_index("by_state_scheduled_time", lambda q: q.eq("state.kind", "pending"))
            .collect()
        )
        assert [row["_id"] for row in found] == [job]
    finally:
        db.close()
        persistence.close()
