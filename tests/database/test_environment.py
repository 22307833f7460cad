"""Environment variables in the database (database/environment.py)."""

from __future__ import annotations

import pytest

from pyconvex.database.database import Database
from pyconvex.database.environment import (
    EnvironmentVariableError,
    read_environment,
    set_environment_variables,
)
from pyconvex.storage.memory import MemoryPersistence


@pytest.fixture
def database() -> Database:
    return Database(MemoryPersistence())


def test_set_change_and_remove_in_one_transaction(database: Database) -> None:
    assert set_environment_variables(database, {"B": "2", "A": "1"}) == {"A": "1", "B": "2"}
    assert set_environment_variables(database, {"A": "one", "B": None}) == {"A": "one"}
    assert read_environment(database.begin(writable=False)) == {"A": "one"}
    database.close()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("1ABC", "x", "is invalid"),
        ("has-dash", "x", "is invalid"),
        ("A" * 257, "x", "is too long"),
        ("BIG", "x" * 9000, "too large"),
    ],
)
def test_convexs_rules(database: Database, name: str, value: str, message: str) -> None:
    with pytest.raises(EnvironmentVariableError, match=message):
        set_environment_variables(database, {name: value})
    assert read_environment(database.begin(writable=False)) == {}  # nothing was written
    database.close()
