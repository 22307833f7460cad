"""``pyconvex.env``: the deployment's environment variables, for app code.

::

    from pyconvex import env

    @action
    async def send_email(ctx, args):
        key = env["RESEND_API_KEY"]        # KeyError if unset
        sender = env.get("EMAIL_FROM", "noreply@example.com")

This is Convex's ``process.env`` in Python. The values live in the deployment
(``pyconvex env set``), not in the server process's ``os.environ``, so every
node sees the same values and changes need no restart. Inside a query or
mutation the variables are read from the function's own snapshot and the read
is recorded, so a query that read a variable re-runs when it changes; in an
action (or at import time, e.g. in ``auth_config.py``) they are read from the
latest committed state. An app loaded outside any deployment (codegen, a tool)
sees no variables.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from typing import Any

from pyconvex.database.database import Database
from pyconvex.database.environment import read_environment
from pyconvex.database.transaction import Transaction

__all__ = ["Environment", "env", "forget_database", "use_database", "use_transaction"]

_transaction: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "pyconvex_env_transaction", default=None
)
_database: contextvars.ContextVar[Database | None] = contextvars.ContextVar(
    "pyconvex_env_database", default=None
)
_default: list[Database] = []


def use_transaction(transaction: Transaction) -> contextvars.Token[Transaction | None]:
    """Read variables through ``transaction`` in this context (queries and mutations)."""
    return _transaction.set(transaction)


def use_database(database: Database) -> None:
    """Read variables from ``database`` wherever no execution says otherwise."""
    _default[:] = [database]


def forget_database(database: Database) -> None:
    """Stop reading from ``database`` by default: its deployment is closing."""
    if _default and _default[0] is database:
        _default.clear()


class Environment(Mapping[str, str]):
    """A read-only mapping of the deployment's environment variables."""

    def _variables(self) -> dict[str, str]:
        transaction = _transaction.get()
        if transaction is not None:
            cached = transaction._pyconvex_env
            if cached is None:
                cached = read_environment(transaction)
                transaction._pyconvex_env = cached
            return cached
        database = _database.get() or (_default[0] if _default else None)
        if database is None:
            # No deployment (an app loaded on its own, as codegen and tools do): no variables.
            return {}
        return read_environment(database.begin(writable=False))

    def __getitem__(self, name: str) -> str:
        return self._variables()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables())

    def __len__(self) -> int:
        return len(self._variables())

    def get(self, name: str, default: Any = None) -> Any:
        """The value of ``name``, or ``default`` when it is not set."""
        return self._variables().get(name, default)

    def __repr__(self) -> str:
        return "<pyconvex.env: the deployment's environment variables>"


#: The deployment's environment variables (see the module docstring).
env = Environment()
