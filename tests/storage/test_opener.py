"""Choosing a backend by location (storage/opener.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyconvex.storage.memory import MemoryPersistence
from pyconvex.storage.opener import describe_location, open_persistence, sqlite_path
from pyconvex.storage.postgres import PostgresPersistence
from pyconvex.storage.sqlite import SqlitePersistence


def test_a_path_opens_sqlite_and_creates_its_folder(tmp_path: Path) -> None:
    location = tmp_path / "nested" / "data.sqlite3"
    store = open_persistence(location)
    try:
        assert isinstance(store, SqlitePersistence)
        assert location.exists()
    finally:
        store.close()


def test_a_sqlite_url_names_a_file(tmp_path: Path) -> None:
    location = f"sqlite://{tmp_path}/data.sqlite3"
    assert sqlite_path(location) == tmp_path / "data.sqlite3"
    store = open_persistence(location)
    store.close()
    assert (tmp_path / "data.sqlite3").exists()


def test_memory_is_not_a_file() -> None:
    assert sqlite_path(":memory:") is None
    store = open_persistence(":memory:")
    assert isinstance(store, MemoryPersistence)
    store.close()


def test_passwords_are_hidden_in_descriptions() -> None:
    assert (
        describe_location("postgresql://app:s3cret@db.internal:5432/prod")
        == "postgresql://app:***@db.internal:5432/prod"
    )
    assert describe_location("postgres://app@db/prod") == "postgres://app@db/prod"
    assert describe_location("/srv/data.sqlite3") == "/srv/data.sqlite3"
    assert sqlite_path("postgres://app@db/prod") is None


@pytest.mark.postgres
def test_a_postgres_url_opens_postgres(postgres_url: str) -> None:
    store = open_persistence(postgres_url)
    try:
        assert isinstance(store, PostgresPersistence)
        assert store.max_ts() == 0
    finally:
        store.close()
