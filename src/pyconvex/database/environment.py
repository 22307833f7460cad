"""Environment variables of a deployment, stored in the ``_environment_variables`` table.

Every node of a deployment sees the same values (they are data, not the
process's ``os.environ``), changes are transactional, and a query that reads a
variable records that read like any other, so it re-runs when the variable
changes. Names and sizes follow Convex's rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer
from pyconvex.database.transaction import Transaction
from pyconvex.errors import PyConvexError

__all__ = [
    "ENVIRONMENT_TABLE",
    "EnvironmentVariableError",
    "read_environment",
    "set_environment_variables",
]

ENVIRONMENT_TABLE = "_environment_variables"
MAX_NAME_LENGTH = 256
MAX_VALUE_BYTES = 8 * 1024
MAX_VARIABLES = 1000
_NAME = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")


class EnvironmentVariableError(PyConvexError):
    """An invalid environment variable name or value."""

    short = "EnvironmentVariableInvalid"


def read_environment(transaction: Transaction) -> dict[str, str]:
    """Every variable as ``transaction`` sees it (the read is recorded in its read set)."""
    rows = QueryInitializer(transaction, ENVIRONMENT_TABLE, sync=True).collect()
    return {str(row["name"]): str(row["value"]) for row in rows}


def set_environment_variables(
    database: Database, changes: Mapping[str, str | None], *, attempts: int = 10
) -> dict[str, str]:
    """Set (or, with None, remove) variables in one transaction; return them all.

    Raises:
        EnvironmentVariableError: a name or value breaks Convex's rules.
    """
    for name, value in changes.items():
        _check(name, value)
    for _ in range(attempts):
        transaction = database.begin(writable=True)
        transaction.system_writes = True
        rows = QueryInitializer(transaction, ENVIRONMENT_TABLE, sync=True).collect()
        existing = {row["name"]: row for row in rows}
        for name, value in changes.items():
            row = existing.get(name)
            if value is None:
                if row is not None:
                    transaction.delete(row["_id"])
            elif row is None:
                transaction.insert(ENVIRONMENT_TABLE, {"name": name, "value": value})
            elif row["value"] != value:
                transaction.patch(row["_id"], {"value": value})
        result = {n: str(r["value"]) for n, r in existing.items()}
        result.update({n: v for n, v in changes.items() if v is not None})
        for name, value in changes.items():
            if value is None:
                result.pop(name, None)
        if len(result) > MAX_VARIABLES:
            raise EnvironmentVariableError(
                f"Too many environment variables ({len(result)}; the limit is {MAX_VARIABLES})."
            )
        try:
            database.commit(transaction).result()
        except CommitConflict:
            continue
        return dict(sorted(result.items()))
    raise EnvironmentVariableError("Environment variables kept changing; try again.")


def _check(name: str, value: str | None) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise EnvironmentVariableError(
            f"The environment variable name {name} is invalid. Environment variable names must "
            "begin with a letter and may only include characters a-z, A-Z, 0-9, and underscores."
        )
    if len(name) > MAX_NAME_LENGTH:
        raise EnvironmentVariableError(
            f"The environment variable name {name} is too long. Environment variable names "
            f"must be less than {MAX_NAME_LENGTH}."
        )
    if value is not None:
        if not isinstance(value, str):
            raise EnvironmentVariableError(f"The value of {name} must be a string.")
        size = len(value.encode("utf-8"))
        if size > MAX_VALUE_BYTES:
            raise EnvironmentVariableError(
                f"The environment variable value is {size} bytes, which is too large. "
                f"(max size: {MAX_VALUE_BYTES}"
            )
