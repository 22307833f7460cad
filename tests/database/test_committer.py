"""The committer: group commit, timestamps, conflicts, storage failures (database/committer.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest

import pyconvex.knobs as knobs
from pyconvex.clock import ManualClock
from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.storage.base import DocumentRevision, IndexEntry
from pyconvex.storage.memory import MemoryPersistence


class RecordingPersistence(MemoryPersistence):
    """A memory store that counts writes, can be slowed down, and can fail."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail = False

    def write(
        self,
        revisions: Sequence[DocumentRevision],
        entries: Sequence[IndexEntry],
        globals_: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.gate.wait()
        if self.fail:
            raise OSError("disk full")
        self.batches.append(len(revisions))
        super().write(revisions, entries, globals_)


def test_concurrent_commits_are_grouped_into_one_storage_write() -> None:
    persistence = RecordingPersistence()
    db = Database(persistence)
    try:
        db.commit(_insert(db)).result()  # creates the table
        persistence.gate.clear()  # hold the committer on its next write
        first = db.commit(_insert(db))
        others = [db.commit(_insert(db)) for _ in range(20)]
        persistence.gate.set()
        timestamps = [f.result(timeout=10) for f in [first, *others]]
        assert timestamps == sorted(timestamps) and len(set(timestamps)) == 21
        assert sum(persistence.batches[1:]) == 21
        assert len(persistence.batches) <= 3  # the 20 queued behind the first went together
    finally:
        db.close()


async def test_async_commits_of_one_loop_turn_share_one_group_commit() -> None:
    persistence = RecordingPersistence()
    db = Database(persistence)
    try:
        db.commit(_insert(db)).result()  # creates the table
        # Committed from one turn of the loop (as handlers woken by one group
        # commit do), they reach the committer together: one storage write.
        waiters = [db.commit_async(_insert(db)) for _ in range(30)]
        timestamps = await asyncio.gather(*waiters)
        assert persistence.batches[1:] == [30]
        assert timestamps == sorted(timestamps) and len(set(timestamps)) == 30
    finally:
        db.close()


async def test_a_group_commit_takes_at_most_commit_batch_max_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(knobs, "COMMIT_BATCH_MAX", 8)
    persistence = RecordingPersistence()
    db = Database(persistence)  # its committer reads the knob when it starts
    try:
        db.commit(_insert(db)).result()
        timestamps = await asyncio.gather(*(db.commit_async(_insert(db)) for _ in range(20)))
        assert persistence.batches[1:] == [8, 8, 4]
        assert len(set(timestamps)) == 20 and db.latest_ts == max(timestamps)
    finally:
        db.close()


async def test_a_closed_database_finishes_commits_already_handed_over() -> None:
    persistence = RecordingPersistence()
    db = Database(persistence)
    db.commit(_insert(db)).result()
    persistence.gate.clear()  # the committer waits on its next write
    blocker = db.commit(_insert(db))
    waiters = [db.commit_async(_insert(db)) for _ in range(5)]
    await asyncio.sleep(0)  # the loop turn ends: the requests are handed over
    closing = threading.Thread(target=db.close)
    closing.start()
    persistence.gate.set()
    closing.join(timeout=10)
    assert blocker.result(timeout=10) > 0
    assert len(set(await asyncio.gather(*waiters))) == 5


def test_timestamps_follow_the_clock_and_never_go_back() -> None:
    clock = ManualClock(start_ns=1_000)
    persistence = MemoryPersistence()
    db = Database(persistence, clock=clock)
    try:
        first = db.commit(_insert(db)).result()
        second = db.commit(_insert(db)).result()
        assert first == 1_000 and second == 1_001  # the clock stood still
        clock.advance(1)
        assert db.commit(_insert(db)).result() == 1_000 + 1_000_000_000
        assert db.latest_ts == 1_000 + 1_000_000_000
    finally:
        db.close()


def test_a_failed_storage_write_commits_nothing() -> None:
    persistence = RecordingPersistence()
    db = Database(persistence)
    try:
        db.commit(_insert(db)).result()
        before = db.latest_ts
        persistence.fail = True
        with pytest.raises(OSError, match="disk full"):
            db.commit(_insert(db)).result()
        assert db.latest_ts == before
        persistence.fail = False
        assert db.commit(_insert(db)).result() > before
        from pyconvex.database.query import QueryInitializer

        rows = QueryInitializer(db.begin(writable=False), "t", sync=True).collect()
        assert len(rows) == 2
    finally:
        db.close()


def test_a_conflict_within_one_batch_is_detected() -> None:
    persistence = RecordingPersistence()
    db = Database(persistence)
    try:
        setup = db.begin(writable=True)
        document_id = setup.insert("t", {"n": 0})
        db.commit(setup).result()
        persistence.gate.clear()
        blocker = db.commit(_insert(db))
        readers: list[Any] = []
        for _ in range(2):
            transaction = db.begin(writable=True)
            transaction.patch(document_id, {"n": 1})
            readers.append(db.commit(transaction))
        persistence.gate.set()
        blocker.result()
        readers[0].result()
        with pytest.raises(CommitConflict):
            readers[1].result()
    finally:
        db.close()


def _insert(db: Database) -> Any:
    transaction = db.begin(writable=True)
    transaction.insert("t", {"n": 1})
    return transaction


def test_waiting_for_a_timestamp_on_an_unshared_store_returns_at_once() -> None:
    db = Database(MemoryPersistence())
    try:
        ts = db.commit(_insert(db)).result()
        assert db.committer.wait_for(ts, timeout=10)
        # Nothing but this process writes a memory store: no later ts can arrive.
        assert not db.committer.wait_for(ts + 1, timeout=10)
    finally:
        db.close()
