"""SQLite-specific behaviour of SqlitePersistence: settings, schema version, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import pyconvex.knobs as knobs
from pyconvex.storage.base import DocumentRevision, IndexEntry
from pyconvex.storage.sqlite import SCHEMA_VERSION, SqlitePersistence


def test_durability_settings_are_in_effect(tmp_path: Path) -> None:
    with SqlitePersistence(tmp_path / "db.sqlite3") as store:
        assert store.settings() == {
            "journal_mode": "wal",
            "synchronous": 2,  # FULL
            "busy_timeout": 5000,
            "wal_autocheckpoint": knobs.SQLITE_WAL_AUTOCHECKPOINT_PAGES,
            "user_version": SCHEMA_VERSION,
        }
    # WAL is a property of the file, not of the connection.
    raw = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        raw.close()


def test_the_schema_version_is_recorded_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    SqlitePersistence(path).close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
        assert {"documents", "indexes", "globals", "meta", "documents_by_ts"} <= tables
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        raw.commit()
    finally:
        raw.close()
    with pytest.raises(RuntimeError, match="schema version"):
        SqlitePersistence(path)


def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with SqlitePersistence(path) as store:
        store.write([DocumentRevision(b"d", 1, b"v", None)], [], [("g", "1")])
    with SqlitePersistence(path) as store:
        assert store.get_global("g") == "1"
        assert store.settings()["user_version"] == SCHEMA_VERSION


def test_a_file_that_cannot_use_wal_is_refused() -> None:
    with pytest.raises(ValueError, match="WAL"):
        SqlitePersistence(":memory:")


def test_each_thread_reads_on_its_own_connection_and_close_closes_them(tmp_path: Path) -> None:
    store = SqlitePersistence(tmp_path / "db.sqlite3")
    store.write([DocumentRevision(b"d", 1, b"v", None)], [IndexEntry(1, b"k", 1, b"d")])
    barrier = threading.Barrier(3)
    results: list[object] = []

    def read() -> None:
        results.append(store.get_revision(b"d", 1))
        barrier.wait()  # keep the threads (and their connections) alive together

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    barrier.wait()
    for thread in threads:
        thread.join()
    assert results == [DocumentRevision(b"d", 1, b"v", None)] * 2
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.get_revision(b"d", 1)


def test_read_connections_cannot_write(tmp_path: Path) -> None:
    with SqlitePersistence(tmp_path / "db.sqlite3") as store:
        store.max_ts()
        reader = store._reader()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.execute("DELETE FROM globals")


# The child writes one revision and two index entries per write(), and prints
# each ts only after write() returned (that is, after the fsync).
_CHILD = textwrap.dedent(
    """
    import sys
    from pyconvex.storage.base import DocumentRevision, IndexEntry
    from pyconvex.storage.sqlite import SqlitePersistence

    store = SqlitePersistence(sys.argv[1])
    ts = store.max_ts()
    while True:
        ts += 1
        key = ts.to_bytes(8, "big")
        store.write(
            [DocumentRevision(b"doc" + key, ts, b"x" * 500, None)],
            [IndexEntry(1, key, ts, b"doc" + key), IndexEntry(2, key, ts, b"doc" + key)],
        )
        sys.stdout.write(f"{ts}\\n")
        sys.stdout.flush()
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_acknowledged_writes_survive_sigkill_and_partial_ones_vanish(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite3"
    acknowledged = 0
    for round_ in range(2):  # the second round starts from a file that survived a kill
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        try:
            for _ in range(300):
                line = child.stdout.readline()
                assert line, "the child stopped early"
                acknowledged = int(line)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
        assert child.returncode == -signal.SIGKILL

        with SqlitePersistence(path) as store:
            present = store.max_ts()
            # Everything acknowledged is there. Writes the child finished after
            # its last ack that we read (before the signal landed) may be there
            # too; below, every present write must be complete.
            assert present >= acknowledged
            revisions = list(store.load_revisions(0, 10**18))
            first = list(store.index_scan(1, b"", None, 10**18))
            second = list(store.index_scan(2, b"", None, 10**18))
        expected_ts = list(range(1, present + 1))
        assert [r.ts for r in revisions] == expected_ts
        assert [int.from_bytes(key, "big") for key, _ in first] == expected_ts
        assert [int.from_bytes(key, "big") for key, _ in second] == expected_ts
        assert all(revision.value == b"x" * 500 for _, revision in first)
        assert round_ == 0 or acknowledged > 300
