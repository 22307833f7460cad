"""Two nodes (two databases in one process) on one PostgreSQL database.

Each node has its own committer, write log and allocator, exactly as two
``pyconvex`` processes would; only PostgreSQL connects them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

import pyconvex.knobs as knobs
from pyconvex import v
from pyconvex.database.schema import define_schema, define_table
from pyconvex.database.write_log import CommitRecord
from pyconvex.testing import ConvexTest
from tests.functions import sample_app

pytestmark = pytest.mark.postgres


def node(url: str, schema: object = sample_app.schema) -> ConvexTest:
    return ConvexTest(schema, {"sample": sample_app}, database_url=url)  # type: ignore[arg-type]


@pytest.fixture
async def nodes(postgres_url: str) -> AsyncIterator[tuple[ConvexTest, ConvexTest]]:
    a, b = node(postgres_url), node(postgres_url)
    yield a, b
    a.close()
    b.close()


def collect(table: str, index: str | None = None) -> Callable[..., Any]:
    """A one-off handler that returns every document of ``table`` (in ``index`` order)."""

    def handler(ctx: Any) -> Any:
        query = ctx.db.query(table)
        return (query.with_index(index) if index else query).collect()

    return handler


async def caught_up(follower: ConvexTest, ts: int, timeout: float = 10) -> None:
    """Wait until ``follower`` has taken in every commit up to ``ts`` (it learns by NOTIFY)."""
    deadline = time.monotonic() + timeout
    while follower.database.latest_ts < ts:
        assert time.monotonic() < deadline, "the other node's commit never arrived"
        await asyncio.sleep(0.005)


async def test_ten_concurrent_read_modify_writes_over_two_nodes_apply_exactly_once(
    nodes: tuple[ConvexTest, ConvexTest],
) -> None:
    a, b = nodes
    counter = await a.mutation("sample:create_counter", {"name": "c"})
    await caught_up(b, a.database.latest_ts)
    results = await asyncio.gather(
        *((a if i % 2 else b).mutation("sample:increment", {"id": counter}) for i in range(10))
    )
    assert sorted(results) == list(range(1, 11))
    await caught_up(b, a.database.latest_ts)
    await caught_up(a, b.database.latest_ts)
    assert await a.query("sample:value_of", {"name": "c"}) == 10
    assert await b.query("sample:value_of", {"name": "c"}) == 10


async def test_a_commit_on_one_node_reaches_the_listeners_of_the_other(
    nodes: tuple[ConvexTest, ConvexTest],
) -> None:
    a, b = nodes
    seen: list[Sequence[CommitRecord]] = []
    arrived = threading.Event()

    def listener(records: Sequence[CommitRecord]) -> None:
        seen.append(records)
        arrived.set()

    b.database.add_commit_listener(listener)
    note = await a.mutation("sample:add_note", {"text": "from a"})
    assert await asyncio.to_thread(arrived.wait, 10)
    touched = {t.document_id for records in seen for r in records for t in r.touched}
    assert note in touched
    assert seen[-1][-1].ts == a.database.latest_ts == b.database.latest_ts


async def test_a_node_that_lags_conflicts_instead_of_overwriting(
    nodes: tuple[ConvexTest, ConvexTest],
) -> None:
    a, b = nodes
    counter = await a.mutation("sample:create_counter", {"name": "c"})
    await caught_up(b, a.database.latest_ts)
    stale = b.database.begin(writable=True)  # begins before a's next write
    await a.mutation("sample:increment", {"id": counter})
    current = stale.get(counter)
    assert current is not None and current["value"] == 0  # its snapshot is older
    stale.patch(counter, {"value": current["value"] + 100})
    from pyconvex.database.committer import CommitConflict

    with pytest.raises(CommitConflict):
        b.database.commit(stale).result(timeout=10)
    assert await b.query("sample:value_of", {"name": "c"}) == 1


async def test_tables_created_on_two_nodes_at_once_get_distinct_numbers(
    nodes: tuple[ConvexTest, ConvexTest],
) -> None:
    a, b = nodes

    async def create(harness: ConvexTest, table: str) -> str:
        return str(await harness.run(lambda ctx: ctx.db.insert(table, {"n": 1})))

    for round_ in range(5):
        ids = await asyncio.gather(create(a, f"a{round_}"), create(b, f"b{round_}"))
        assert ids[0] != ids[1]
    await caught_up(a, b.database.latest_ts)
    await caught_up(b, a.database.latest_ts)
    catalog = a.database.state.catalog
    assert catalog.to_json() == b.database.state.catalog.to_json()
    numbers = [t.number for t in catalog.tables.values()]
    index_ids = [i.index_id for t in catalog.tables.values() for i in t.indexes.values()]
    assert len(numbers) == len(set(numbers)) and len(index_ids) == len(set(index_ids))
    for round_ in range(5):
        for table in (f"a{round_}", f"b{round_}"):
            assert len(await b.run(collect(table))) == 1


async def test_a_schema_change_on_one_node_is_used_by_the_other(postgres_url: str) -> None:
    first = node(postgres_url)
    second = node(postgres_url)
    try:
        await first.mutation("sample:add_note", {"text": "old"})
        # A third node deploys a schema with a new index on notes.
        indexed = define_schema(
            {
                **sample_app.schema.tables,
                "notes": define_table({"text": v.string()}).index("by_text", ["text"]),
            }
        )
        deployer = node(postgres_url, indexed)
        try:
            await caught_up(second, deployer.database.latest_ts)
            assert "by_text" in second.database.state.catalog.tables["notes"].indexes
            # The second node's writes maintain the index it learned about.
            await second.mutation("sample:add_note", {"text": "new"})
            await caught_up(deployer, second.database.latest_ts)
            rows = await deployer.run(collect("notes", "by_text"))
            assert [row["text"] for row in rows] == ["new", "old"]
        finally:
            deployer.close()
    finally:
        first.close()
        second.close()


async def test_a_node_waits_for_a_timestamp_seen_on_another(
    nodes: tuple[ConvexTest, ConvexTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = nodes
    await a.mutation("sample:add_note", {"text": "seen on a"})
    ts = a.database.latest_ts
    assert await b.database.caught_up(ts)  # a client that saw ts on a, now on b
    assert b.database.latest_ts >= ts
    monkeypatch.setattr(knobs, "CATCH_UP_TIMEOUT_SECONDS", 0.2)
    assert not await b.database.caught_up(ts + 10**12)  # nobody committed that: give up
