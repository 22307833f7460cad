"""Fixtures shared across test folders: the moto S3 server and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import pg_server

# The moto S3 server (s3_server, s3_bucket): file-store, server and client tests use it.
pytest_plugins = ["tests.files.moto_server"]


@pytest.fixture(autouse=True)
def _drop_postgres_databases() -> Iterator[None]:
    # A no-op unless the test used PostgreSQL; then its databases go with it.
    yield
    pg_server.drop_test_databases()


@pytest.fixture
def postgres_url() -> str:
    """The URL of a new, empty PostgreSQL database on the session's server."""
    return pg_server.fresh_database()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    pg_server.stop()
