"""Fixtures for the database tests: a Database on every storage backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer
from pyconvex.database.transaction import Transaction
from pyconvex.storage.base import Persistence
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.storage.postgres import PostgresPersistence
from pyconvex.storage.sqlite import SqlitePersistence
from tests import pg_server


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    persistence: Persistence
    if request.param == "memory":
        persistence = MemoryPersistence()
    elif request.param == "sqlite":
        persistence = SqlitePersistence(tmp_path / "db.sqlite3")
    else:
        persistence = PostgresPersistence(pg_server.fresh_database())
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
