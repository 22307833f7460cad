"""PostgreSQL-specific behaviour of PostgresPersistence: migrations, pool, sharing.

The behaviour every backend shares is in ``test_conformance.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import psycopg
import pytest

import pyconvex.knobs as knobs
from pyconvex.storage.base import CommitBatch, DocumentRevision, IndexEntry, LoggedCommit
from pyconvex.storage.postgres import (
    SCHEMA_VERSION,
    PostgresPersistence,
    is_postgres_url,
    migrate,
)

pytestmark = pytest.mark.postgres


def _versions(url: str) -> list[int]:
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT version FROM schema_migrations ORDER BY version")
        return [row[0] for row in rows]


def test_a_new_database_is_migrated_to_the_current_version(postgres_url: str) -> None:
    with PostgresPersistence(postgres_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
    assert _versions(postgres_url) == list(range(1, SCHEMA_VERSION + 1))
    with psycopg.connect(postgres_url) as connection:
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
    assert {"documents", "indexes", "globals", "meta", "schema_migrations"} <= tables


@pytest.mark.parametrize("older", range(SCHEMA_VERSION))
def test_opening_an_older_version_migrates_it_and_keeps_its_data(
    postgres_url: str, older: int
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        migrate(connection, target=older)
        if older >= 1:  # version 1 created the documents table
            connection.execute(
                "INSERT INTO documents (doc_id, ts, value, prev_ts) VALUES (%s, 5, %s, NULL)",
                (b"d", b"kept"),
            )
    assert _versions(postgres_url) == list(range(1, older + 1))
    with PostgresPersistence(postgres_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        if older >= 1:
            assert store.get_revision(b"d", 10) == DocumentRevision(b"d", 5, b"kept", None)
    assert _versions(postgres_url) == list(range(1, SCHEMA_VERSION + 1))


def test_reopening_does_not_migrate_again(postgres_url: str) -> None:
    with PostgresPersistence(postgres_url) as store:
        store.write([DocumentRevision(b"d", 1, b"v", None)], [], [("g", "1")])
    with PostgresPersistence(postgres_url) as store:
        assert store.get_global("g") == "1"
    assert _versions(postgres_url) == list(range(1, SCHEMA_VERSION + 1))


def test_a_newer_version_is_refused_with_a_clear_error(postgres_url: str) -> None:
    PostgresPersistence(postgres_url).close()
    with psycopg.connect(postgres_url) as connection:
        connection.execute(
            "INSERT INTO schema_migrations (version) VALUES (%s)", (SCHEMA_VERSION + 1,)
        )
    with pytest.raises(RuntimeError, match=f"schema version {SCHEMA_VERSION + 1}.*upgrade"):
        PostgresPersistence(postgres_url)


def test_nodes_starting_together_migrate_once(postgres_url: str) -> None:
    stores: list[PostgresPersistence] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            stores.append(PostgresPersistence(postgres_url, min_connections=1))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    assert _versions(postgres_url) == list(range(1, SCHEMA_VERSION + 1))


def test_two_stores_on_one_database_see_each_others_writes(postgres_url: str) -> None:
    with PostgresPersistence(postgres_url) as first, PostgresPersistence(postgres_url) as second:
        first.write([DocumentRevision(b"d", 7, b"v", None)], [IndexEntry(1, b"k", 7, b"d")])
        assert second.max_ts() == 7
        assert [key for key, _ in second.index_scan(1, b"", None, 7)] == [b"k"]


def test_more_reading_threads_than_connections_share_the_pool(postgres_url: str) -> None:
    with PostgresPersistence(postgres_url, min_connections=1, max_connections=2) as store:
        store.write(
            [DocumentRevision(bytes([i]), 1, b"v", None) for i in range(50)],
            [IndexEntry(1, bytes([i]), 1, bytes([i])) for i in range(50)],
        )
        counts: list[int] = []

        def read() -> None:
            for _ in range(20):
                counts.append(sum(1 for _ in store.index_scan(1, b"", None, 1)))

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert counts == [50] * 160


def test_postgres_urls_are_recognized() -> None:
    assert is_postgres_url("postgres://u@h/db")
    assert is_postgres_url("postgresql://u:p@h:5432/db?sslmode=require")
    assert not is_postgres_url("/var/data.sqlite3")
    assert not is_postgres_url("sqlite:///x")


# -- several nodes: the serialized commit path ------------------------------------------


def _batch(ts: int, name: bytes) -> CommitBatch:
    return CommitBatch(
        [DocumentRevision(name, ts, b"v", None)],
        [IndexEntry(1, name, ts, name)],
        (),
        [LoggedCommit(ts, b"payload-" + name)],
    )


def test_serialized_commits_see_what_others_committed_since(postgres_url: str) -> None:
    with PostgresPersistence(postgres_url) as a, PostgresPersistence(postgres_url) as b:
        seen: list[tuple[int, list[LoggedCommit]]] = []

        def prepare_at(ts: int, name: bytes) -> Any:
            def prepare(max_ts: int, commits: Sequence[LoggedCommit]) -> CommitBatch:
                seen.append((max_ts, list(commits)))
                return _batch(ts, name)

            return prepare

        a.commit_serialized(0, prepare_at(10, b"a"))
        b.commit_serialized(0, prepare_at(20, b"b"))
        a.commit_serialized(10, prepare_at(30, b"c"))
        assert seen[0] == (0, [])
        assert seen[1] == (10, [LoggedCommit(10, b"payload-a")])
        assert seen[2] == (20, [LoggedCommit(20, b"payload-b")])
        assert [c.ts for c in b.load_commits(0)] == [10, 20, 30]
        assert b.load_commits(30) == []
        assert [key for key, _ in b.index_scan(1, b"", None, 30)] == [b"a", b"b", b"c"]
        assert b.max_ts() == 30


def test_a_failed_serialized_commit_stores_nothing(postgres_url: str) -> None:
    with PostgresPersistence(postgres_url) as store:
        store.commit_serialized(0, lambda max_ts, commits: _batch(10, b"a"))

        def explode(max_ts: int, commits: Sequence[LoggedCommit]) -> CommitBatch:
            raise RuntimeError("validation blew up")

        with pytest.raises(RuntimeError, match="blew up"):
            store.commit_serialized(10, explode)
        with pytest.raises(ValueError, match="nothing stored"):  # (doc a, ts 10) again
            store.commit_serialized(10, lambda max_ts, commits: _batch(10, b"a"))
        store.commit_serialized(10, lambda max_ts, commits: None)  # nothing to write
        assert [c.ts for c in store.load_commits(0)] == [10]
        assert store.max_ts() == 10


def test_commits_are_serialized_across_stores(postgres_url: str) -> None:
    """Each prepare sees every commit before it: timestamps never go back."""
    stores = [PostgresPersistence(postgres_url) for _ in range(3)]
    errors: list[BaseException] = []

    def commit_many(store: PostgresPersistence, known: list[int]) -> None:
        try:
            for _ in range(20):

                def prepare(max_ts: int, commits: Sequence[LoggedCommit]) -> CommitBatch:
                    assert all(c.ts > known[0] for c in commits)
                    ts = max_ts + 1
                    known[0] = ts
                    return _batch(ts, f"doc{ts}".encode())

                store.commit_serialized(known[0], prepare)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=commit_many, args=(s, [0])) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    with PostgresPersistence(postgres_url) as store:
        assert [c.ts for c in store.load_commits(0)] == list(range(1, 61))


def test_watchers_hear_of_other_stores_commits(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(knobs, "POSTGRES_POLL_SECONDS", 60.0)  # so only a NOTIFY can wake it
    with PostgresPersistence(postgres_url) as a, PostgresPersistence(postgres_url) as b:
        heard = threading.Event()
        announced: list[int | None] = []

        def on_commit(ts: int | None) -> None:
            announced.append(ts)
            heard.set()

        b.watch_commits(on_commit)
        assert heard.wait(10)  # once at the start, for whatever happened before
        assert announced == [None]
        heard.clear()
        a.commit_serialized(0, lambda max_ts, commits: _batch(10, b"a"))
        assert heard.wait(10)
        assert announced[-1] == 10  # the commit's own timestamp, from its NOTIFY
    # close() stopped the listener thread: nothing is left running.
    assert not [t for t in threading.enumerate() if t.name == "pyconvex-pg-listen"]
