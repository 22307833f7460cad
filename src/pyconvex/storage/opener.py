"""Choosing a storage backend by location: :func:`open_persistence`.

A location is what ``--db`` and ``PYCONVEX_DB_URL`` take:

* ``postgres://...`` or ``postgresql://...``: a PostgreSQL database
  (:class:`~pyconvex.storage.postgres.PostgresPersistence`);
* ``:memory:``: nothing durable (:class:`~pyconvex.storage.memory.MemoryPersistence`);
* anything else: a SQLite file path, optionally written ``sqlite:///abs/path``
  or ``sqlite://relative/path`` (:class:`~pyconvex.storage.sqlite.SqlitePersistence`).
"""

from __future__ import annotations

import os
from pathlib import Path

from pyconvex.storage.base import Persistence
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.storage.postgres import PostgresPersistence, is_postgres_url
from pyconvex.storage.sqlite import SqlitePersistence

__all__ = ["describe_location", "open_persistence", "sqlite_path"]

_SQLITE_SCHEME = "sqlite://"


def sqlite_path(location: str | os.PathLike[str]) -> Path | None:
    """The SQLite file a location names, or None for PostgreSQL and ``:memory:``."""
    text = os.fspath(location)
    if is_postgres_url(text) or text == ":memory:":
        return None
    return Path(text.removeprefix(_SQLITE_SCHEME))


def open_persistence(location: str | os.PathLike[str]) -> Persistence:
    """Open (creating or migrating as needed) the store at ``location``.

    A SQLite file's folder is created when missing.

    Raises:
        RuntimeError: the store was written by a newer pyconvex.
        psycopg.OperationalError: the PostgreSQL server cannot be reached.
    """
    text = os.fspath(location)
    if is_postgres_url(text):
        return PostgresPersistence(text)
    if text == ":memory:":
        return MemoryPersistence()
    path = sqlite_path(text)
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqlitePersistence(path)


def describe_location(location: str | os.PathLike[str]) -> str:
    """A location fit for logs: a PostgreSQL URL without its password."""
    text = os.fspath(location)
    if not is_postgres_url(text):
        return text
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
