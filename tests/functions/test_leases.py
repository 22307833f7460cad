"""Leases on scheduled jobs and cron runs (functions/leases.py).

Claims are ordinary writes, so two claims of one job conflict through OCC;
a running action's lease is renewed while it runs and let go with its outcome.
The cross-node behaviour (hand-over when a node dies) is in
``tests/multinode/test_scheduler.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from pyconvex.clock import ManualClock
from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.database.transaction import Transaction
from pyconvex.functions.leases import Lease, all_leases, hold, lease_of, new_node_id, release
from pyconvex.functions.registry import FunctionDefinition, FunctionKind
from pyconvex.storage.memory import MemoryPersistence

from . import scheduler_app
from .scheduler_harness import START_MS, Deployment

TARGET = "jd7abcdefghijklmnopqrstuvwxyz12"  # any string names a target here


def system_transaction(database: Database) -> Transaction:
    transaction = database.begin(writable=True)
    transaction.system_writes = True
    return transaction


def test_hold_renew_and_release() -> None:
    database = Database(MemoryPersistence())
    try:
        transaction = system_transaction(database)
        assert lease_of(transaction, TARGET) is None
        hold(transaction, TARGET, "node-a", 1000.0, None)
        database.commit(transaction).result()

        transaction = system_transaction(database)
        lease = lease_of(transaction, TARGET)
        assert lease is not None and (lease.node, lease.until_ms) == ("node-a", 1000.0)
        assert all_leases(transaction) == {TARGET: lease}
        hold(transaction, TARGET, "node-a", 2000.0, lease)  # renewed: the same row
        database.commit(transaction).result()

        transaction = system_transaction(database)
        renewed = lease_of(transaction, TARGET)
        assert renewed == Lease(lease.id, TARGET, "node-a", 2000.0)
        assert not release(transaction, TARGET, "node-b")  # not b's to let go
        assert release(transaction, TARGET, "node-a")
        database.commit(transaction).result()
        assert all_leases(database.begin(writable=False)) == {}
    finally:
        database.close()


def test_two_claims_of_one_target_conflict() -> None:
    database = Database(MemoryPersistence())
    try:
        first, second = system_transaction(database), system_transaction(database)
        for transaction, node in ((first, "node-a"), (second, "node-b")):
            assert lease_of(transaction, TARGET) is None  # both see it free
            hold(transaction, TARGET, node, 1000.0, None)
        database.commit(first).result()
        with pytest.raises(CommitConflict):
            database.commit(second).result()
        lease = lease_of(database.begin(writable=False), TARGET)
        assert lease is not None and lease.node == "node-a"
    finally:
        database.close()


def test_node_ids_are_fresh() -> None:
    assert len({new_node_id() for _ in range(100)}) == 100


async def wait_until(condition: Any, timeout: float = 10.0) -> None:
    """Wait for the runner's thread to get somewhere (not for time to pass)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)


async def test_a_running_actions_lease_is_renewed_and_let_go_with_its_outcome() -> None:
    started, release_action = threading.Event(), threading.Event()

    def blocking(ctx: Any) -> None:
        started.set()
        release_action.wait(30)

    clock = ManualClock(start_ns=int(START_MS * 1_000_000))
    app = Deployment({"jobs": scheduler_app}, clock=clock)
    app.executor.registry.add(
        "slow:run", FunctionDefinition(FunctionKind.ACTION, blocking, internal=True)
    )
    lease_ms = app.scheduler.lease_ms
    database = app.backend.database

    def lease() -> Lease | None:
        return next(iter(all_leases(database.begin(writable=False)).values()), None)

    try:
        job_id = await app.mutation("jobs:schedule", {"name": "slow:run", "args": {}})
        assert await asyncio.to_thread(started.wait, 10)
        first = lease()
        assert first is not None and first.target == job_id
        assert first.node == app.scheduler.node_id and first.until_ms == START_MS + lease_ms
        clock.advance(lease_ms / 3 / 1000)  # a third of a lease: time to renew
        renewed_until = START_MS + lease_ms / 3 + lease_ms
        await wait_until(lambda: (lease() or first).until_ms == renewed_until)
        release_action.set()
        await app.scheduler.idle()
        assert (await app.query("jobs:job", {"id": job_id}))["state"] == {"kind": "success"}
        assert lease() is None
    finally:
        release_action.set()
        app.close()
