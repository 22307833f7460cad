"""Leases: which node runs a scheduled job or a cron run, and until when.

Every node of a deployment runs a job runner; a job is run by the node that
*claims* it. A claim is a row of the ``_job_leases`` system table,
``{target, node, until}``: ``target`` is the ``_scheduled_functions`` or
``_cron_jobs`` ID, ``node`` the claiming runner's random ID, ``until`` the
time (ms) after which the claim lapses unless renewed. Claims are ordinary
writes: two nodes claiming one job both read its lease (through the
``by_target`` index) and both write it, so the commit of one makes the other
conflict (OCC), and the loser, retrying, finds the job taken.

Leases live in a table of their own rather than in the job's row, so a claimed
mutation's job still reads ``pending`` to everyone, as in Convex, and
renewing a running action's lease does not rewrite its job.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pyconvex.database.query import QueryInitializer
from pyconvex.database.transaction import Transaction

__all__ = [
    "BY_TARGET",
    "LEASES",
    "Lease",
    "all_leases",
    "hold",
    "lease_of",
    "new_node_id",
    "release",
]

LEASES = "_job_leases"
#: ``("target",)``: a job's or cron's lease.
BY_TARGET = "by_target"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Lease:
    """One claim: ``node`` runs ``target`` until ``until_ms`` unless it renews.

    Attributes:
        id: the lease row's ``_job_leases`` ID.
        target: the ``_scheduled_functions`` or ``_cron_jobs`` ID it claims.
        node: the ID of the job runner that holds it.
        until_ms: when it lapses (ms since the epoch, on the holder's clock).
    """

    id: str
    target: str
    node: str
    until_ms: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Lease:
        """The lease a ``_job_leases`` row holds."""
        return cls(str(row["_id"]), str(row["target"]), str(row["node"]), float(row["until"]))


def new_node_id() -> str:
    """A fresh job-runner ID: random, so a restarted node never mistakes old claims for its own."""
    return secrets.token_hex(8)


def lease_of(transaction: Transaction, target: str) -> Lease | None:
    """The lease on ``target`` as ``transaction`` sees it (a read that conflicts with claims)."""
    row = (
        QueryInitializer(transaction, LEASES, sync=True)
        .with_index(BY_TARGET, lambda q: q.eq("target", target))
        .first()
    )
    return Lease.from_row(row) if row is not None else None


def all_leases(transaction: Transaction) -> dict[str, Lease]:
    """Every lease, by target (the table holds only claims in force or lapsed)."""
    rows = QueryInitializer(transaction, LEASES, sync=True).collect()
    return {lease.target: lease for lease in map(Lease.from_row, rows)}


def hold(
    transaction: Transaction, target: str, node: str, until_ms: float, current: Lease | None
) -> None:
    """Make ``node`` the holder of ``target`` until ``until_ms`` (``current``: its lease now)."""
    row = {"target": target, "node": node, "until": float(until_ms)}
    if current is None:
        _as_system(transaction, lambda: transaction.insert(LEASES, row))
    else:
        _as_system(transaction, lambda: transaction.patch(current.id, row))


def release(transaction: Transaction, target: str, node: str) -> bool:
    """Delete ``node``'s lease on ``target``; False if ``node`` does not hold it."""
    lease = lease_of(transaction, target)
    if lease is None or lease.node != node:
        return False
    _as_system(transaction, lambda: transaction.delete(lease.id))
    return True


def _as_system(transaction: Transaction, write: Callable[[], T]) -> T:
    # App code cannot write system tables; the job runner writes leases on its behalf.
    previous = transaction.system_writes
    transaction.system_writes = True
    try:
        return write()
    finally:
        transaction.system_writes = previous
