"""The throwaway PostgreSQL server of tests and benchmarks (testing/postgres.py)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pyconvex.testing.postgres import TemporaryPostgres, find_postgres_bin

pytestmark = pytest.mark.postgres


def test_the_binaries_are_found() -> None:
    folder = find_postgres_bin()
    assert (folder / "initdb").exists()
    assert (folder / "pg_ctl").exists()


def test_a_server_serves_databases_on_loopback_and_leaves_nothing_behind() -> None:
    server = TemporaryPostgres()
    try:
        url = server.create_database("app")
        assert url == f"postgresql://postgres@127.0.0.1:{server.port}/app"
        with psycopg.connect(url) as connection:
            connection.execute("CREATE TABLE t (x int)")
            connection.execute("INSERT INTO t VALUES (1)")
            assert connection.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        # Creating it again starts it empty.
        with psycopg.connect(server.create_database("app")) as connection:
            with pytest.raises(psycopg.errors.UndefinedTable):
                connection.execute("SELECT * FROM t")
        folder = Path(server._folder)
        assert folder.exists()
    finally:
        server.stop()
    assert not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    server.stop()  # stopping twice is harmless


def test_a_durable_server_keeps_fsync_on() -> None:
    with TemporaryPostgres(durable=True) as server:
        with psycopg.connect(server.url) as connection:
            assert connection.execute("SHOW fsync").fetchone() == ("on",)
