"""Fixtures for the database tests: a Database on every storage backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer
from pyconvex.database.transaction import Transaction
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.storage.sqlite import SqlitePersistence


@pytest.fixture(params=["memory", "sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    persistence = (
        MemoryPersistence()
        if request.param == "memory"
        else SqlitePersistence(tmp_path / "db.sqlite3")
    )
    database = Database(persistence)
    yield database
    database.close()
    persistence.close()


def commit(database: Database, transaction: Transaction) -> int:
    """Commit and wait; raises CommitConflict on a conflict."""
    return database.commit(transaction).result(timeout=10)


def query(transaction: Transaction, table: str) -> QueryInitializer:
    """A query with sync terminals, for tests that drive transactions directly."""
    return QueryInitializer(transaction, table, sync=True)
