"""The change feed (server/changes.py): which tables changed since a snapshot, with waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from pyconvex.database import admin
from pyconvex.database.database import Database
from pyconvex.server.changes import ChangeFeed
from pyconvex.storage.memory import MemoryPersistence


@pytest.fixture
def database() -> Iterator[Database]:
    persistence = MemoryPersistence()
    database = Database(persistence)
    yield database
    database.close()
    persistence.close()


def write(database: Database, table: str) -> int:
    admin.insert_document(database, table, {"x": 1.0})
    return database.latest_ts


async def test_reports_the_tables_written_after_a_timestamp(database: Database) -> None:
    feed = ChangeFeed(database)
    start = database.latest_ts
    assert feed.changed(start, None) == (start, [])
    first = write(database, "a")
    second = write(database, "b")
    assert feed.changed(start, None) == (second, ["a", "b"])
    assert feed.changed(start, {"b", "c"}) == (second, ["b"])
    assert feed.changed(first, {"a"}) == (second, [])
    assert feed.changed(second, None) == (second, [])


async def test_older_than_it_remembers_is_unknown(database: Database) -> None:
    before = write(database, "a")
    feed = ChangeFeed(database, history=2)
    feed.changed(before, None)  # starts listening here
    # A snapshot from before the feed started: it cannot tell, the caller re-reads.
    assert feed.changed(before - 1, None)[1] is None
    after = [write(database, "a") for _ in range(3)]
    # Only the two newest commits are remembered now.
    assert feed.changed(after[0], None)[1] == ["a"]
    assert feed.changed(before, None)[1] is None


async def test_a_waiter_wakes_up_on_a_commit_to_its_table(database: Database) -> None:
    feed = ChangeFeed(database)
    start = database.latest_ts
    waiting = asyncio.create_task(feed.wait(start, {"watched"}, 10))
    await asyncio.sleep(0)  # it registers before its first await
    await asyncio.to_thread(write, database, "other")
    await asyncio.sleep(0.05)
    assert not waiting.done()  # a commit to another table does not end the wait
    ts = await asyncio.to_thread(write, database, "watched")
    assert await asyncio.wait_for(waiting, 5) == (ts, ["watched"])


async def test_a_wait_times_out_with_nothing_changed(database: Database) -> None:
    feed = ChangeFeed(database)
    start = database.latest_ts
    assert await feed.wait(start, None, 0.05) == (start, [])
