"""The sign-in tables (signin/store.py): system tables, written transactionally."""

from __future__ import annotations

import asyncio

import pytest

from pyconvex.database.database import Database
from pyconvex.errors import DocumentError
from pyconvex.signin.store import ACCOUNTS, Store, digest
from pyconvex.storage.memory import MemoryPersistence


@pytest.fixture
def store() -> Store:
    return Store(Database(MemoryPersistence()))


async def test_rows_are_written_and_found_by_index(store: Store) -> None:
    row = {
        "provider": "password",
        "providerAccountId": "a@b.co",
        "subject": "s1",
        "email": "a@b.co",
    }
    account_id = await store.write(lambda t: t.insert(ACCOUNTS, row))
    found = Store.first(store.snapshot(), ACCOUNTS, "by_email", email="a@b.co")
    assert found["_id"] == account_id and found["subject"] == "s1"
    assert Store.all(store.snapshot(), ACCOUNTS, "by_subject", subject="nobody") == []


async def test_concurrent_writers_are_serialized(store: Store) -> None:
    async def add(n: int) -> None:
        def change(transaction: object) -> None:
            existing = Store.all(transaction, ACCOUNTS, "by_subject", subject="shared")  # type: ignore[arg-type]
            transaction.insert(  # type: ignore[attr-defined]
                ACCOUNTS,
                {
                    "provider": "p",
                    "providerAccountId": str(n),
                    "subject": "shared",
                    "n": len(existing),
                },
            )

        await store.write(change)

    await asyncio.gather(*(add(n) for n in range(5)))
    rows = Store.all(store.snapshot(), ACCOUNTS, "by_subject", subject="shared")
    assert sorted(r["n"] for r in rows) == [0, 1, 2, 3, 4]  # each saw all before it


def test_app_functions_cannot_write_them(store: Store) -> None:
    transaction = store.database.begin(writable=True)
    with pytest.raises(DocumentError):
        transaction.insert(ACCOUNTS, {"provider": "x"})


def test_secrets_are_stored_hashed() -> None:
    assert digest("secret") != "secret" and len(digest("secret")) == 64
