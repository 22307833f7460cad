"""The query-result cache shared by sync connections (server/query_cache.py)."""

from __future__ import annotations

from pyconvex.database.readset import ReadSet
from pyconvex.database.write_log import CommitRecord, TouchedKey, WriteLog
from pyconvex.protocol.session import QueryOutcome
from pyconvex.server.query_cache import QueryCache


async def test_the_query_cache_keeps_results_that_already_show_a_commit() -> None:
    reads = ReadSet()
    reads.add_point(7, b"k")
    log = WriteLog(floor_ts=0, max_records=100)
    cache = QueryCache(write_log=log)
    runs: list[int] = []

    async def run(ts: int) -> QueryOutcome:
        runs.append(ts)
        return QueryOutcome(value=ts, read_set=reads)

    hit = TouchedKey(7, b"k", "t", "d")
    miss = TouchedKey(7, b"other", "t", "d")
    await cache.get(("q",), 10, run)
    # A commit the hub has not announced yet, elsewhere: extended on demand.
    log.append(CommitRecord(11, [miss]))
    assert cache.peek(("q",), 11) is not None
    # One that changes the result: a miss, then a run at the new snapshot...
    log.append(CommitRecord(12, [hit]))
    assert cache.peek(("q",), 12) is None
    await cache.get(("q",), 12, run)
    # ...which the late announcement of that same commit must not throw away.
    cache.on_commit([CommitRecord(11, [miss]), CommitRecord(12, [hit])])
    assert (await cache.get(("q",), 12, run)).value == 12 and runs == [10, 12]
    cache.on_commit([CommitRecord(13, [hit])])
    assert cache.peek(("q",), 13) is None
