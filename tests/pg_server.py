"""The PostgreSQL server of a test session, started on first use.

Tests marked ``postgres`` get databases on one :class:`TemporaryPostgres`
shared by the whole session (starting a server takes a second or two; creating
a database takes tens of milliseconds). ``tests/conftest.py`` drops the
databases a test created when it ends, and stops the server with the session.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import threading
from pathlib import Path

from pyconvex.testing.postgres import TemporaryPostgres

__all__ = ["database_for", "drop_test_databases", "fresh_database", "server", "stop"]

_lock = threading.Lock()
_server: TemporaryPostgres | None = None
_created: list[str] = []
_numbers = itertools.count(1)


def server() -> TemporaryPostgres:
    """The session's server (started now if it is not running yet)."""
    global _server
    with _lock:
        if _server is None:
            _server = TemporaryPostgres()
            atexit.register(stop)  # also when the session ends without pytest's hooks
        return _server


def fresh_database() -> str:
    """The URL of a new, empty database."""
    name = f"test_{next(_numbers)}"
    url = server().create_database(name)
    _created.append(name)
    return url


def database_for(directory: Path) -> str:
    """The URL of the database that belongs to ``directory``: the same one every call.

    Lets a test "reopen" a store the way it reopens a SQLite file in the same folder.
    """
    name = "dir_" + hashlib.sha1(str(directory).encode()).hexdigest()[:20]
    if name in _created:
        return server().database_url(name)
    url = server().create_database(name)
    _created.append(name)
    return url


def drop_test_databases() -> None:
    """Drop every database created since the last call (a test's scratch databases)."""
    if _server is None or not _created:
        return
    import psycopg

    with psycopg.connect(_server.url, autocommit=True) as connection:
        while _created:
            name = _created.pop()
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stop() -> None:
    """Stop the session's server, if it was started."""
    global _server
    with _lock:
        if _server is not None:
            _server.stop()
            _server = None
