"""Admin reads and writes outside functions (database/admin.py): what the dashboard uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pyconvex.database import admin
from pyconvex.database.database import Database
from pyconvex.database.schema import define_schema, define_table
from pyconvex.database.transaction import Transaction
from pyconvex.errors import (
    DocumentError,
    InvalidCursorError,
    QueryError,
    SchemaValidationError,
)
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.values.model import Int64
from pyconvex.values.validators import v

SCHEMA = define_schema(
    {
        "tasks": define_table(
            {"title": v.string(), "done": v.boolean(), "rank": v.optional(v.int64())}
        ).index("by_done", ["done"]),
    }
)


@pytest.fixture
def database() -> Iterator[Database]:
    persistence = MemoryPersistence()
    database = Database(persistence)
    database.apply_schema(SCHEMA)
    yield database
    database.close()
    persistence.close()


def add_tasks(database: Database, count: int) -> list[str]:
    return [
        admin.insert_document(database, "tasks", {"title": f"t{i}", "done": i % 2 == 0})
        for i in range(count)
    ]


def test_tables_list_counts_indexes_and_schema(database: Database) -> None:
    add_tasks(database, 3)
    admin.insert_document(database, "notes", {"anything": Int64(1)})  # not in the schema
    tables = {t["name"]: t for t in admin.list_tables(database)}
    assert sorted(tables) == ["notes", "tasks"]  # system tables only when asked
    tasks = tables["tasks"]
    assert tasks["count"] == 3 and tasks["countIsExact"] is True
    assert tasks["system"] is False
    assert tasks["indexes"] == [
        {"name": "by_creation_time", "fields": [], "state": "enabled"},
        {"name": "by_done", "fields": ["done"], "state": "enabled"},
    ]
    assert tasks["documentType"]["type"] == "object"
    assert tasks["documentType"]["value"]["rank"]["optional"] is True
    assert tables["notes"]["documentType"] is None
    with_system = [t["name"] for t in admin.list_tables(database, include_system=True)]
    assert {"_storage", "_scheduled_functions", "_auth_sessions"} <= set(with_system)
    # User tables first ("_" sorts before lowercase letters), then system tables, by name.
    assert with_system[:2] == ["notes", "tasks"]
    assert with_system[2:] == sorted(with_system[2:])


def test_counting_stops_at_the_limit(database: Database) -> None:
    add_tasks(database, 5)
    [tasks] = admin.list_tables(database, count_limit=3)
    assert tasks["count"] == 3 and tasks["countIsExact"] is False


def test_pages_follow_the_index_order_and_cursor(database: Database) -> None:
    ids = add_tasks(database, 5)
    first = admin.page_documents(database, "tasks", num_items=2)
    assert [d["_id"] for d in first["page"]] == [ids[4], ids[3]]  # newest first
    assert first["isDone"] is False and first["ts"] == database.latest_ts
    rest = admin.page_documents(database, "tasks", num_items=10, cursor=first["continueCursor"])
    assert [d["_id"] for d in rest["page"]] == [ids[2], ids[1], ids[0]]
    assert rest["isDone"] is True
    by_done = admin.page_documents(database, "tasks", index="by_done", order="asc")
    assert [d["done"] for d in by_done["page"]] == [False, False, True, True, True]


def test_filters_compare_fields(database: Database) -> None:
    add_tasks(database, 4)
    admin.patch_document(
        database, admin.page_documents(database, "tasks")["page"][0]["_id"], {"rank": Int64(7)}
    )
    done = admin.page_documents(database, "tasks", filters=[admin.FieldFilter("done", "eq", True)])
    assert sorted(d["title"] for d in done["page"]) == ["t0", "t2"]
    both = admin.page_documents(
        database,
        "tasks",
        filters=[
            admin.FieldFilter("done", "eq", True),
            admin.FieldFilter("title", "gt", "t0"),
        ],
    )
    assert [d["title"] for d in both["page"]] == ["t2"]
    ranked = admin.page_documents(
        database, "tasks", filters=[admin.FieldFilter("rank", "gte", Int64(7))]
    )
    assert [d["title"] for d in ranked["page"]] == ["t3"]


def test_filters_an_index_answers_read_only_its_range(database: Database) -> None:
    ids = add_tasks(database, 12)  # t0, t2, ... t10 are done
    admin.patch_document(database, ids[11], {"done": True, "rank": Int64(5)})
    admin.patch_document(database, ids[4], {"rank": Int64(9)})
    # Eight rows read at most: a scan of the whole table stops before it finds them all.
    done = admin.page_documents(
        database,
        "tasks",
        index="by_done",
        order="asc",
        filters=[admin.FieldFilter("done", "eq", True)],
        maximum_rows_read=8,
    )
    assert [d["title"] for d in done["page"]] == ["t0", "t2", "t4", "t6", "t8", "t10", "t11"]
    assert done["isDone"] is True
    scanned = admin.page_documents(
        database, "tasks", filters=[admin.FieldFilter("done", "eq", True)], maximum_rows_read=8
    )
    assert scanned["isDone"] is False and len(scanned["page"]) < 7
    # A bound on the next key field (_creationTime) and a filter the index cannot answer.
    middle = admin.page_documents(
        database,
        "tasks",
        index="by_done",
        order="desc",
        filters=[
            admin.FieldFilter("done", "eq", True),
            admin.FieldFilter("_creationTime", "gt", done["page"][1]["_creationTime"]),
            admin.FieldFilter("_creationTime", "lte", done["page"][5]["_creationTime"]),
            admin.FieldFilter("rank", "neq", Int64(9)),
        ],
    )
    assert [d["title"] for d in middle["page"]] == ["t10", "t8", "t6"]
    # Filters on other fields than the index's stay filters.
    ranked = admin.page_documents(
        database, "tasks", index="by_done", filters=[admin.FieldFilter("rank", "eq", Int64(5))]
    )
    assert [d["title"] for d in ranked["page"]] == ["t11"]


def test_bad_reads_are_query_errors(database: Database) -> None:
    add_tasks(database, 1)
    with pytest.raises(QueryError, match="Unknown filter operator"):
        admin.FieldFilter("done", "like", True)
    with pytest.raises(QueryError, match="not found"):
        admin.page_documents(database, "tasks", index="by_nothing")
    other = admin.page_documents(database, "tasks", index="by_done", num_items=1)
    with pytest.raises(InvalidCursorError):
        admin.page_documents(database, "tasks", cursor=other["continueCursor"])


def test_a_missing_table_has_no_documents(database: Database) -> None:
    page = admin.page_documents(database, "nothing_here")
    assert page["page"] == [] and page["isDone"] is True


def test_writes_are_validated_like_mutations(database: Database) -> None:
    [task] = add_tasks(database, 1)
    with pytest.raises(SchemaValidationError, match='in table "tasks" because it does not match'):
        admin.insert_document(database, "tasks", {"title": "x"})
    with pytest.raises(SchemaValidationError, match="Path: .done"):
        admin.patch_document(database, task, {"done": "yes"})
    admin.patch_document(database, task, {"rank": Int64(3)})
    admin.replace_document(database, task, {"title": "renamed", "done": True})
    document = database.begin(writable=False).get(task)
    assert document is not None
    assert document["title"] == "renamed" and "rank" not in document
    admin.delete_document(database, task)
    assert database.begin(writable=False).get(task) is None
    with pytest.raises(DocumentError, match="nonexistent document"):
        admin.delete_document(database, task)


def test_system_tables_cannot_be_written(database: Database) -> None:
    with pytest.raises(DocumentError, match="System tables"):
        admin.insert_document(database, "_storage", {"size": 1.0})


def test_a_conflicting_write_is_retried_in_a_fresh_transaction(database: Database) -> None:
    [task] = add_tasks(database, 1)
    attempts = 0

    def bump(transaction: Transaction) -> int:
        nonlocal attempts
        attempts += 1
        document = transaction.get(task)
        assert document is not None
        if attempts == 1:  # someone else writes what we read, before we commit
            admin.patch_document(database, task, {"title": "theirs"})
        transaction.patch(task, {"title": f"{document['title']}+mine"})
        return attempts

    assert admin.write_with_retries(database, bump) == 2
    document = database.begin(writable=False).get(task)
    assert document is not None and document["title"] == "theirs+mine"


def test_a_write_that_always_conflicts_gives_up(database: Database) -> None:
    [task] = add_tasks(database, 1)

    def always(transaction: Transaction) -> None:
        transaction.get(task)
        admin.patch_document(database, task, {"done": True})
        transaction.patch(task, {"title": "never"})

    with pytest.raises(DocumentError, match="kept changing"):
        admin.write_with_retries(database, always)
