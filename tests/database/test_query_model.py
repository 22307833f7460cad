"""Property test: queries agree with a plain Python model of the same data.

Random documents (mixed value types, missing fields), random index ranges,
filters, orders and page sizes; every query is run through the engine and
through a model that sorts with an independent comparator written here.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer
from pyconvex.database.schema import define_schema, define_table
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.values.model import UNDEFINED, Int64
from pyconvex.values.validators import v

MISSING = object()

SCALARS = st.one_of(
    st.none(),
    st.integers(-3, 3).map(Int64),
    st.sampled_from([0.0, -0.0, 1.5, -2.0, math.inf, -math.inf, math.nan, 3.0]),
    st.booleans(),
    st.sampled_from(["", "a", "ab", "b", "a\x00"]),
    st.sampled_from([b"", b"\x00", b"\x01"]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=2), st.just(MISSING))


def model_key(value: Any) -> tuple[Any, ...]:
    """Convex's total order, written independently of pyconvex.values.ordering."""
    if value is MISSING or value is UNDEFINED:
        return (0,)
    if value is None:
        return (1,)
    if type(value) is Int64:
        return (2, int(value))
    if type(value) is float:
        if math.isnan(value):
            return (3, 2 if math.copysign(1, value) > 0 else -2, 0.0, 0)
        return (3, 0, value, 0 if math.copysign(1, value) < 0 else 1)
    if type(value) is bool:
        return (4, value)
    if type(value) is str:
        return (5, value.encode())
    if type(value) is bytes:
        return (6, value)
    if type(value) is list:
        return (7, tuple(model_key(item) for item in value))
    raise AssertionError(value)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    documents = draw(st.lists(st.tuples(VALUES, VALUES), min_size=0, max_size=14))
    eq_a = draw(st.one_of(st.just(MISSING), VALUES))
    lower = draw(st.one_of(st.just(None), st.tuples(st.sampled_from(["gt", "gte"]), VALUES)))
    upper = draw(st.one_of(st.just(None), st.tuples(st.sampled_from(["lt", "lte"]), VALUES)))
    if eq_a is MISSING:
        field = "a"
    else:
        field = "b"
    return {
        "documents": documents,
        "eq_a": eq_a,
        "bound_field": field,
        "lower": lower,
        "upper": upper,
        "filter": draw(st.one_of(st.just(None), VALUES.filter(lambda x: x is not MISSING))),
        "desc": draw(st.booleans()),
        "page_size": draw(st.integers(1, 5)),
    }


def _literal(value: Any) -> Any:
    return UNDEFINED if value is MISSING else value


def _in_range(scenario: dict[str, Any], a: Any, b: Any) -> bool:
    if scenario["eq_a"] is not MISSING and model_key(a) != model_key(scenario["eq_a"]):
        return False
    subject = model_key(a if scenario["bound_field"] == "a" else b)
    if scenario["lower"] is not None:
        op, bound = scenario["lower"]
        if not (subject > model_key(bound) if op == "gt" else subject >= model_key(bound)):
            return False
    if scenario["upper"] is not None:
        op, bound = scenario["upper"]
        if not (subject < model_key(bound) if op == "lt" else subject <= model_key(bound)):
            return False
    return True


def _model(scenario: dict[str, Any], stored: list[tuple[Any, Any, str, float]]) -> list[str]:
    rows = [r for r in stored if _in_range(scenario, r[0], r[1])]
    if scenario["filter"] is not None:
        rows = [r for r in rows if model_key(r[1]) > model_key(scenario["filter"])]
    rows.sort(key=lambda r: (model_key(r[0]), model_key(r[1]), r[3], r[2].encode()))
    if scenario["desc"]:
        rows.reverse()
    return [r[2] for r in rows]


def _query(db: Database, scenario: dict[str, Any]) -> Any:
    def index_range(q: Any) -> Any:
        if scenario["eq_a"] is not MISSING:
            q = q.eq("a", _literal(scenario["eq_a"]))
        field = scenario["bound_field"]
        if scenario["lower"] is not None:
            op, bound = scenario["lower"]
            q = getattr(q, op)(field, _literal(bound))
        if scenario["upper"] is not None:
            op, bound = scenario["upper"]
            q = getattr(q, op)(field, _literal(bound))
        return q

    query: Any = QueryInitializer(db.begin(writable=False), "t", sync=True)
    query = query.with_index("by_ab", index_range)
    if scenario["filter"] is not None:
        bound = scenario["filter"]
        query = query.filter(lambda q: q.gt(q.field("b"), bound))
    return query.order("desc" if scenario["desc"] else "asc")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_queries_match_the_model(scenario: dict[str, Any]) -> None:
    persistence = MemoryPersistence()
    db = Database(persistence)
    try:
        db.apply_schema(
            define_schema(
                {
                    "t": define_table({"a": v.optional(v.any()), "b": v.optional(v.any())}).index(
                        "by_ab", ["a", "b"]
                    )
                }
            )
        )
        transaction = db.begin(writable=True)
        stored = []
        for a, b in scenario["documents"]:
            fields = {k: x for k, x in (("a", a), ("b", b)) if x is not MISSING}
            document_id = transaction.insert("t", fields)
            creation = transaction.writes[next(reversed(transaction.writes))].new["_creationTime"]  # type: ignore[index]
            stored.append((a, b, document_id, creation))
        db.commit(transaction).result()

        expected = _model(scenario, stored)
        assert [d["_id"] for d in _query(db, scenario).collect()] == expected

        paged: list[str] = []
        cursor = None
        for _ in range(len(expected) + 2):
            page = _query(db, scenario).paginate(
                {"numItems": scenario["page_size"], "cursor": cursor}
            )
            paged += [d["_id"] for d in page["page"]]
            cursor = page["continueCursor"]
            if page["isDone"]:
                break
        assert paged == expected
    finally:
        db.close()
        persistence.close()
