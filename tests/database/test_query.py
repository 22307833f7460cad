"""Query pipeline, terminals and pagination (database/query.py)."""

from __future__ import annotations

from typing import Any

import pytest

from pyconvex.database.database import Database
from pyconvex.database.schema import define_schema, define_table
from pyconvex.errors import InvalidCursorError, QueryError
from pyconvex.values.model import Int64
from pyconvex.values.validators import v

from .conftest import commit, query


def fill(db: Database, values: list[Any], table: str = "t") -> list[str]:
    transaction = db.begin(writable=True)
    ids = [transaction.insert(table, {"n": value}) for value in values]
    commit(db, transaction)
    return ids


def numbers(documents: list[dict[str, Any]]) -> list[Any]:
    return [d["n"] for d in documents]


@pytest.fixture
def indexed(db: Database) -> Database:
    db.apply_schema(
        define_schema(
            {
                "t": define_table({"n": v.optional(v.any()), "tag": v.optional(v.string())}).index(
                    "by_n", ["n"]
                )
            }
        )
    )
    return db


def test_default_order_is_creation_order_and_desc_reverses(db: Database) -> None:
    fill(db, [3, 1, 2])
    snapshot = db.begin(writable=False)
    assert numbers(query(snapshot, "t").collect()) == [3.0, 1.0, 2.0]
    assert numbers(query(snapshot, "t").order("desc").collect()) == [2.0, 1.0, 3.0]


def test_filters_run_before_limits(db: Database) -> None:
    fill(db, [1, 2, 3, 4, 5, 6])
    snapshot = db.begin(writable=False)
    first_even = query(snapshot, "t").filter(lambda q: q.eq(q.mod(q.field("n"), 2.0), 0.0)).first()
    assert first_even is not None and first_even["n"] == 2.0
    big = query(snapshot, "t").filter(lambda q: q.gt(q.field("n"), 3)).take(2)
    assert numbers(big) == [4.0, 5.0]


def test_index_ranges_select_and_order(indexed: Database) -> None:
    fill(indexed, [5, 1, 4, 2, 3])
    snapshot = indexed.begin(writable=False)
    rows = query(snapshot, "t").with_index("by_n", lambda q: q.gte("n", 2).lt("n", 5)).collect()
    assert numbers(rows) == [2.0, 3.0, 4.0]
    rows = query(snapshot, "t").with_index("by_n", lambda q: q.gt("n", 2)).order("desc").collect()
    assert numbers(rows) == [5.0, 4.0, 3.0]


def test_the_cross_type_order_through_an_index(indexed: Database) -> None:
    values: list[Any] = [
        {"a": 1.0},
        ["a"],
        b"\x01",
        "xFactor",
        "stringValue",
        True,
        False,
        35.0,
        34.0,
        Int64(34),
        None,
    ]
    transaction = indexed.begin(writable=True)
    for value in values:
        transaction.insert("t", {"n": value})
    transaction.insert("t", {"tag": "missing"})
    commit(indexed, transaction)
    rows = query(indexed.begin(writable=False), "t").with_index("by_n").order("desc").collect()
    got = [row.get("n", "<missing>") for row in rows]
    assert got == [*values, "<missing>"]
    assert type(got[9]) is Int64


def test_eq_undefined_selects_documents_missing_the_field(indexed: Database) -> None:
    from pyconvex.values.model import UNDEFINED

    transaction = indexed.begin(writable=True)
    transaction.insert("t", {"tag": "no n"})
    transaction.insert("t", {"n": None})
    commit(indexed, transaction)
    snapshot = indexed.begin(writable=False)
    missing = query(snapshot, "t").with_index("by_n", lambda q: q.eq("n", UNDEFINED)).collect()
    assert [row["tag"] for row in missing] == ["no n"]
    present = query(snapshot, "t").with_index("by_n", lambda q: q.gt("n", UNDEFINED)).collect()
    assert [row["n"] for row in present] == [None]


def test_unique_and_first(db: Database) -> None:
    fill(db, [1, 1, 2])
    snapshot = db.begin(writable=False)
    assert query(snapshot, "t").filter(lambda q: q.eq(q.field("n"), 3)).unique() is None
    two = query(snapshot, "t").filter(lambda q: q.eq(q.field("n"), 2)).unique()
    assert two is not None and two["n"] == 2.0
    with pytest.raises(QueryError, match="unique\\(\\) query returned more than one result"):
        query(snapshot, "t").filter(lambda q: q.eq(q.field("n"), 1)).unique()
    assert query(snapshot, "empty").first() is None


def test_query_misuse_errors(db: Database) -> None:
    snapshot = db.begin(writable=False)
    ordered = query(snapshot, "t").order("desc")
    with pytest.raises(QueryError, match="order at most once"):
        ordered.order("asc")
    base = query(snapshot, "t")
    base.take(1)
    with pytest.raises(QueryError, match="chained once"):
        base.collect()
    with pytest.raises(QueryError, match="non-negative integer"):
        query(snapshot, "t").take(-1)
    with pytest.raises(QueryError, match="returned None"):
        query(snapshot, "t").filter(lambda q: None).collect()


def page(db: Database, opts: dict[str, Any], order: str = "asc") -> dict[str, Any]:
    result: dict[str, Any] = query(db.begin(writable=False), "t").order(order).paginate(opts)
    return result


def test_pagination_walks_every_document_once(db: Database) -> None:
    fill(db, list(range(10)))
    seen: list[Any] = []
    cursor = None
    while True:
        result = page(db, {"numItems": 3, "cursor": cursor})
        seen += numbers(result["page"])
        cursor = result["continueCursor"]
        if result["isDone"]:
            break
    assert seen == [float(n) for n in range(10)]


def test_a_page_that_fills_exactly_is_not_done(db: Database) -> None:
    fill(db, [1, 2])
    first = page(db, {"numItems": 2, "cursor": None})
    assert numbers(first["page"]) == [1.0, 2.0] and first["isDone"] is False
    second = page(db, {"numItems": 2, "cursor": first["continueCursor"]})
    assert second["page"] == [] and second["isDone"] is True
    third = page(db, {"numItems": 2, "cursor": second["continueCursor"]})
    assert third["page"] == [] and third["isDone"] is True


def test_cursors_are_positional_across_deletes(db: Database) -> None:
    ids = fill(db, list(range(6)))
    first = page(db, {"numItems": 2, "cursor": None})
    transaction = db.begin(writable=True)
    transaction.delete(ids[1])  # already returned
    transaction.delete(ids[2])  # the next one
    commit(db, transaction)
    rest = page(db, {"numItems": 10, "cursor": first["continueCursor"]})
    assert numbers(rest["page"]) == [3.0, 4.0, 5.0]


def test_end_cursor_fixes_the_page_boundary(db: Database) -> None:
    fill(db, [1, 2, 3, 4])
    first = page(db, {"numItems": 2, "cursor": None})
    fill(db, [5])
    again = page(db, {"numItems": 1, "cursor": None, "endCursor": first["continueCursor"]})
    assert numbers(again["page"]) == [1.0, 2.0]  # the boundary, not numItems, decides
    assert again["continueCursor"] == first["continueCursor"]
    assert again["isDone"] is False


def test_desc_page_grows_with_inserts_before_its_boundary(db: Database) -> None:
    fill(db, [1, 2])
    first = page(db, {"numItems": 1, "cursor": None}, "desc")
    assert numbers(first["page"]) == [2.0]
    fill(db, [3])
    again = page(db, {"numItems": 1, "cursor": None, "endCursor": first["continueCursor"]}, "desc")
    assert numbers(again["page"]) == [3.0, 2.0]


def test_maximum_rows_read_splits_pages(db: Database) -> None:
    fill(db, list(range(10)))
    required = page(db, {"numItems": 3, "cursor": None, "maximumRowsRead": 2})
    assert len(required["page"]) == 2 and required["pageStatus"] == "SplitRequired"
    assert required["isDone"] is False
    recommended = page(db, {"numItems": 3, "cursor": None, "maximumRowsRead": 3})
    assert len(recommended["page"]) == 3 and recommended["pageStatus"] == "SplitRecommended"
    assert isinstance(recommended["splitCursor"], str)
    plain = page(db, {"numItems": 1, "cursor": None, "maximumRowsRead": 3})
    assert plain["pageStatus"] is None and plain["splitCursor"] is None


def test_pagination_option_errors(db: Database) -> None:
    fill(db, [1])
    with pytest.raises(QueryError, match="at least 1 document"):
        page(db, {"numItems": 0, "cursor": None})
    with pytest.raises(QueryError, match="too many items"):
        page(db, {"numItems": 32_001, "cursor": None})
    with pytest.raises(QueryError, match="greater than 0"):
        page(db, {"numItems": 1, "cursor": None, "maximumRowsRead": 0})
    cursor = page(db, {"numItems": 1, "cursor": None})["continueCursor"]
    other = query(db.begin(writable=False), "t").filter(lambda q: q.eq(q.field("n"), 1))
    with pytest.raises(InvalidCursorError, match="different query"):
        other.paginate({"numItems": 1, "cursor": cursor})
    with pytest.raises(InvalidCursorError):
        page(db, {"numItems": 1, "cursor": "garbage!"})


def test_only_one_paginated_query_per_execution(db: Database) -> None:
    snapshot = db.begin(writable=False)
    query(snapshot, "t").paginate({"numItems": 1, "cursor": None})
    with pytest.raises(QueryError, match="multiple paginated queries"):
        query(snapshot, "t").paginate({"numItems": 1, "cursor": None})


def test_pagination_accepts_the_official_hook_options(db: Database) -> None:
    fill(db, [1, 2])
    result = page(db, {"numItems": 1.0, "cursor": None, "id": 7.0})
    assert numbers(result["page"]) == [1.0]
