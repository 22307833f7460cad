"""Transaction limits, savepoints and buffered writes (database/transaction.py)."""

from __future__ import annotations

import math

import pytest

from pyconvex.database.database import Database
from pyconvex.database.transaction import TransactionLimits
from pyconvex.errors import TransactionLimitError
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.storage.sqlite import SqlitePersistence
from pyconvex.values.model import Int64

from .conftest import commit, query


def limited(**limits: int) -> Database:
    return Database(MemoryPersistence(), limits=TransactionLimits(**limits))


def test_reading_too_many_documents_fails_with_convex_text() -> None:
    db = limited(max_read_rows=5)
    try:
        writer = db.begin(writable=True)
        for n in range(6):
            writer.insert("t", {"n": n})
        commit(db, writer)
        assert len(query(db.begin(writable=False), "t").take(5)) == 5
        with pytest.raises(TransactionLimitError, match=r"Too many documents read .*\(limit: 5\)"):
            query(db.begin(writable=False), "t").collect()
        # Rows rejected by a filter count too.
        with pytest.raises(TransactionLimitError):
            query(db.begin(writable=False), "t").filter(lambda q: q.eq(q.field("n"), 99)).first()
    finally:
        db.close()


def test_writing_too_much_fails() -> None:
    db = limited(max_write_documents=3, max_write_bytes=10_000)
    try:
        writer = db.begin(writable=True)
        for n in range(3):
            writer.insert("t", {"n": n})
        with pytest.raises(TransactionLimitError, match=r"Too many writes .*\(limit: 3\)"):
            writer.insert("t", {"n": 3})
        big = db.begin(writable=True)
        with pytest.raises(TransactionLimitError, match="Too many bytes written"):
            big.insert("t", {"s": "x" * 20_000})
    finally:
        db.close()


def test_too_many_index_ranges_fails() -> None:
    db = limited(max_read_intervals=3)
    try:
        writer = db.begin(writable=True)
        writer.insert("t", {"n": 1})
        commit(db, writer)
        snapshot = db.begin(writable=False)
        for _ in range(3):
            query(snapshot, "t").collect()
        with pytest.raises(TransactionLimitError, match=r"Too many reads .*\(limit: 3\)"):
            query(snapshot, "t").collect()
    finally:
        db.close()


def test_savepoints_roll_back_writes_but_keep_reads() -> None:
    db = Database(MemoryPersistence())
    try:
        writer = db.begin(writable=True)
        kept = writer.insert("t", {"n": 1})
        savepoint = writer.savepoint()
        dropped = writer.insert("t", {"n": 2})
        writer.patch(kept, {"n": 10})
        writer.get(kept)
        reads_before = len(writer.read_set)
        writer.rollback_to(savepoint)
        assert writer.get(dropped) is None
        assert writer.get(kept)["n"] == 1.0  # type: ignore[index]
        assert len(writer.read_set) >= reads_before
        commit(db, writer)
        assert [d["n"] for d in query(db.begin(writable=False), "t").collect()] == [1.0]
    finally:
        db.close()


def test_insert_then_delete_in_one_transaction_leaves_nothing() -> None:
    db = Database(MemoryPersistence())
    try:
        writer = db.begin(writable=True)
        document_id = writer.insert("t", {"n": 1})
        writer.delete(document_id)
        commit(db, writer)
        assert db.begin(writable=False).get(document_id) is None
    finally:
        db.close()


def test_every_value_type_round_trips_through_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    document = {
        "null": None,
        "int": Int64(-(2**63)),
        "max": Int64(2**63 - 1),
        "float": 1.5,
        "negzero": -0.0,
        "nan": math.nan,
        "inf": -math.inf,
        "bool": True,
        "str": "héllo\x00wörld 🎉",
        "bytes": b"\x00\xff\x10",
        "array": [Int64(1), 1.0, [b"x"], {"k": None}],
        "object": {"nested": {"deep": [True, False]}},
    }
    path = tmp_path / "values.sqlite3"
    persistence = SqlitePersistence(path)
    db = Database(persistence)
    writer = db.begin(writable=True)
    document_id = writer.insert("t", document)
    commit(db, writer)
    db.close()
    persistence.close()

    persistence = SqlitePersistence(path)
    db = Database(persistence)
    try:
        stored = db.begin(writable=False).get(document_id)
        assert stored is not None
        for key, value in document.items():
            got = stored[key]
            if key == "nan":
                assert math.isnan(got)
            elif key == "negzero":
                assert got == 0.0 and math.copysign(1, got) == -1
            else:
                assert got == value and type(got) is type(value), key
        assert type(stored["array"][0]) is Int64 and type(stored["array"][1]) is float
    finally:
        db.close()
        persistence.close()
