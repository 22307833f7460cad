"""Built-in sign-in's system tables: accounts, sessions, one-time codes, OAuth states.

=====================  ==============================================================
``_auth_accounts``      one way of signing in: ``provider`` ("password", "github", ...),
                        ``providerAccountId``, ``subject`` (the user; shared by linked
                        accounts), ``email``, ``emailVerified``, ``name``, ``image``,
                        ``secret`` (argon2id hash, passwords only), ``userId`` (the hook's)
``_auth_sessions``      a signed-in device: ``subject``, ``accountId``, ``secretHash`` of
                        its refresh token, ``previousHash``, ``expiresAt`` (ms)
``_auth_codes``         a one-time code: ``accountId``, ``kind`` ("verify", "reset",
                        "login"), ``codeHash``, ``expiresAt``, ``attempts``
``_auth_oauth_states``  an OAuth sign-in under way: ``state``, ``provider``,
                        ``verifier`` (PKCE), ``redirectTo``, ``expiresAt``
=====================  ==============================================================

Secrets are stored hashed (SHA-256 for random tokens and codes, argon2id for
passwords), so a copy of the database signs no one in.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer
from pyconvex.database.readset import ReadSet
from pyconvex.database.transaction import Transaction

__all__ = [
    "ACCOUNTS",
    "CODES",
    "OAUTH_STATES",
    "SECRET_FIELDS",
    "SESSIONS",
    "Store",
    "digest",
]

ACCOUNTS = "_auth_accounts"
SESSIONS = "_auth_sessions"
CODES = "_auth_codes"
OAUTH_STATES = "_auth_oauth_states"
_ATTEMPTS = 10

#: Fields that must never leave the server (the dashboard shows them redacted):
#: password and token hashes (a hash still lets one guess offline) and the
#: PKCE verifier of an OAuth sign-in under way (stored in clear, it is the secret).
SECRET_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    ACCOUNTS: frozenset({"secret"}),
    SESSIONS: frozenset({"secretHash", "previousHash"}),
    CODES: frozenset({"codeHash"}),
    OAUTH_STATES: frozenset({"state", "verifier"}),
}

T = TypeVar("T")


def digest(secret: str) -> str:
    """The stored form of a random secret (refresh token, code, state)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Store:
    """Reads and transactional writes of the sign-in tables."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def now_ms(self) -> float:
        """The database clock, in ms (a ``ManualClock`` in tests)."""
        return self.database.clock.now_ns() / 1e6

    def snapshot(self) -> Transaction:
        """A read-only transaction at the latest commit."""
        return self.database.begin(writable=False)

    async def write(self, change: Callable[[Transaction], T]) -> T:
        """Run ``change`` in a transaction and commit it, retrying on conflicts."""
        for attempt in range(_ATTEMPTS):
            transaction = self.database.begin(writable=True)
            transaction.read_set = ReadSet()  # system rows need no schema check
            transaction.system_writes = True
            result = change(transaction)
            try:
                await asyncio.wrap_future(self.database.commit(transaction))
            except CommitConflict:
                if attempt == _ATTEMPTS - 1:
                    raise
                continue
            return result
        raise AssertionError("unreachable")

    @staticmethod
    def first(transaction: Transaction, table: str, index: str, **equal: Any) -> Any:
        """The first row of ``table`` whose ``index`` fields equal ``equal`` (in order)."""
        return Store.query(transaction, table, index, **equal).first()

    @staticmethod
    def all(transaction: Transaction, table: str, index: str, **equal: Any) -> list[Any]:
        """Every row of ``table`` whose ``index`` fields equal ``equal``."""
        rows: list[Any] = Store.query(transaction, table, index, **equal).collect()
        return rows

    @staticmethod
    def query(transaction: Transaction, table: str, index: str, **equal: Any) -> Any:
        def bounds(q: Any) -> Any:
            for name, value in equal.items():
                q = q.eq(name, value)
            return q

        return QueryInitializer(transaction, table, sync=True).with_index(index, bounds)
