"""Scheduled functions and crons over two nodes on one PostgreSQL database.

Each node runs a job runner; a job runs on the node that claimed it (a lease
row, ``functions/leases.py``). In-process nodes share one manual clock, so a
lease lapses exactly when the test moves time; the last test kills a real
node process with SIGKILL while it holds jobs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pyconvex import cron_jobs
from pyconvex.clock import ManualClock
from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer
from pyconvex.functions.cron import Crons
from pyconvex.functions.job_runner import TRANSIENT_ACTION_ERROR
from pyconvex.functions.leases import LEASES, hold
from pyconvex.storage.postgres import PostgresPersistence
from tests.functions.scheduler_harness import START_MS, Deployment
from tests.multinode import jobs_app

pytestmark = pytest.mark.postgres

LEASE_SECONDS = 30.0  # knobs.SCHEDULER_LEASE_SECONDS, the default


def node(url: str, clock: ManualClock, crons: Crons | None = None) -> Deployment:
    return Deployment(
        {"jobs": jobs_app}, persistence=PostgresPersistence(url), clock=clock, crons=crons
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start_ns=int(START_MS * 1_000_000))


@pytest.fixture
async def nodes(postgres_url: str, clock: ManualClock) -> AsyncIterator[tuple[Deployment, ...]]:
    a = node(postgres_url, clock)
    b = node(postgres_url, clock)
    yield a, b
    a.close()
    b.close()


async def caught_up(*nodes: Deployment) -> None:
    """Wait until every node has taken in every commit any of them made."""
    newest = max(n.backend.database.latest_ts for n in nodes)
    for each in nodes:
        assert await each.backend.database.caught_up(newest)


async def settle(*nodes: Deployment) -> None:
    """Wait until nothing is due or running on any node (twice round: a job may schedule more)."""
    for _ in range(2):
        await caught_up(*nodes)
        for each in nodes:
            await each.scheduler.idle(30)


def scheduled_runs(app: Deployment, path: str) -> int:
    runs, _ = app.executor.logs.since(0)
    return sum(1 for run in runs if run.path == path and run.trigger == "scheduled")


async def test_many_jobs_due_at_once_run_exactly_once_over_two_nodes(
    nodes: tuple[Deployment, Deployment], clock: ManualClock
) -> None:
    a, b = nodes
    await a.mutation("jobs:schedule_many", {"mutations": 120, "actions": 24, "delay": 1000})
    await caught_up(a, b)
    clock.advance(1)
    await settle(a, b)
    expected = [f"m{n}" for n in range(120)] + [f"a{n}" for n in range(24)]
    assert Counter(await a.query("jobs:tags")) == Counter(expected)  # each exactly once
    assert Counter(await b.query("jobs:job_states")) == {"success": 144}
    # Claims split the work: no job ran on both nodes, and both took part.
    for path, total in (("jobs:effect", 120), ("jobs:action_effect", 24)):
        runs = [scheduled_runs(each, path) for each in (a, b)]
        assert sum(runs) == total, (path, runs)
    assert scheduled_runs(a, "jobs:effect") > 0 and scheduled_runs(b, "jobs:effect") > 0
    assert lease_rows(a) == []  # every claim let go with its job's outcome


def lease_rows(app: Deployment) -> list[dict[str, Any]]:
    database = app.backend.database
    rows: list[dict[str, Any]] = QueryInitializer(
        database.begin(writable=False), LEASES, sync=True
    ).collect()
    return rows


async def test_a_dead_nodes_claims_are_taken_over_once_they_lapse(
    nodes: tuple[Deployment, Deployment], clock: ManualClock
) -> None:
    a, b = nodes
    await a.mutation("jobs:schedule_many", {"mutations": 3, "actions": 1, "delay": 1000})
    clock.advance(1)
    # A node claimed every job, set the action in progress and started it, then
    # died: its leases stay, as SIGKILL leaves them (see the last test for a real one).
    database = a.backend.database
    now_ms = clock.now_ns() / 1e6
    transaction = database.begin(writable=True)
    transaction.system_writes = True
    jobs = QueryInitializer(transaction, "_scheduled_functions", sync=True).collect()
    for job in jobs:
        if job["name"] == "jobs:action_effect":
            transaction.patch(job["_id"], {"state": {"kind": "inProgress"}})
        hold(transaction, job["_id"], "dead-node", now_ms + LEASE_SECONDS * 1000, None)
    await database.commit_async(transaction)
    await settle(a, b)
    assert await a.query("jobs:tags") == []  # held by a node that may still be alive
    assert Counter(await a.query("jobs:job_states")) == {"pending": 3, "inProgress": 1}
    clock.advance(LEASE_SECONDS - 1)
    await settle(a, b)
    assert await a.query("jobs:tags") == []
    clock.advance(1)  # the leases lapse: the node is dead
    await settle(a, b)
    assert sorted(await b.query("jobs:tags")) == ["m0", "m1", "m2"]  # each once
    rows = {job["name"]: job for job in await b.query("jobs:jobs")}
    assert rows["jobs:action_effect"]["state"] == {
        "kind": "failed",
        "error": TRANSIENT_ACTION_ERROR,
    }  # at most once: never re-run
    assert Counter(await b.query("jobs:job_states")) == {"success": 3, "failed": 1}
    assert lease_rows(b) == []


async def test_a_cron_fires_once_per_slot_with_two_nodes(
    postgres_url: str, clock: ManualClock
) -> None:
    crons = cron_jobs()
    crons.interval("tick", {"minutes": 1}, "jobs:effect", {"tag": "tick"})
    crons.interval("tock", {"minutes": 1}, "jobs:action_effect", {"tag": "tock"})
    a = node(postgres_url, clock, crons)
    b = node(postgres_url, clock, crons)
    try:
        await settle(a, b)  # an interval's first run is at deploy time
        for _ in range(5):
            clock.advance(60)
            await settle(a, b)
        assert Counter(await a.query("jobs:tags")) == {"tick": 6, "tock": 6}
        tock_runs = [
            sum(1 for r in n.executor.logs.since(0)[0] if r.trigger == 'cron "tock"')
            for n in (a, b)
        ]
        assert sum(tock_runs) == 6  # each run of the action happened on one node
    finally:
        a.close()
        b.close()


CHILD = textwrap.dedent(
    """
    import asyncio, os, sys, time
    from pyconvex import internal_action, internal_mutation, mutation, v
    from pyconvex.application import Backend
    from pyconvex.functions.registry import Registry
    from pyconvex.storage.postgres import PostgresPersistence

    @internal_mutation(args={"n": v.number()})
    def effect(ctx, args):
        ctx.db.insert("effects", {"n": args["n"]})
        os.write(1, f"running {int(args['n'])}\\n".encode())
        time.sleep(0.05)  # still uncommitted: a kill now loses this attempt

    @internal_mutation
    def action_started(ctx):
        ctx.db.insert("action_starts", {})

    @internal_action
    async def slow_action(ctx):
        await ctx.run_mutation("crash:action_started")
        os.write(1, b"action running\\n")
        await asyncio.sleep(600)

    @mutation(args={"count": v.number()})
    def schedule_all(ctx, args):
        ctx.scheduler.run_after(0, "crash:slow_action")
        for n in range(int(args["count"])):
            ctx.scheduler.run_after(0, "crash:effect", {"n": n})

    async def main():
        backend = Backend(
            PostgresPersistence(sys.argv[1]),
            Registry.from_modules({"crash": sys.modules[__name__]}),
        )
        print("node", backend.scheduler.node_id, flush=True)
        if sys.argv[2] == "start":
            await backend.executor.run_mutation("crash:schedule_all", {"count": int(sys.argv[3])})
        await asyncio.Event().wait()  # run jobs until killed

    asyncio.run(main())
    """
)
JOBS = 400
KILL_LEASE_SECONDS = 2


def read(url: str, table: str) -> list[dict[str, Any]]:
    persistence = PostgresPersistence(url)
    database = Database(persistence)
    try:
        return QueryInitializer(database.begin(writable=False), table, sync=True).collect()  # type: ignore[no-any-return]
    finally:
        database.close()
        persistence.close()


def spawn(script: Path, url: str, output: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYCONVEX_SCHEDULER_LEASE_SECONDS": str(KILL_LEASE_SECONDS),
        "PYCONVEX_SCHEDULED_JOB_CONCURRENCY": "4",
    }
    with output.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, str(script), url, *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )


def wait_for_lines(output: Path, done: Any, process: subprocess.Popen[bytes]) -> list[str]:
    deadline = time.monotonic() + 60
    while True:
        lines = output.read_text().splitlines()
        if done(lines):
            return lines
        assert process.poll() is None, output.read_text()[-3000:]
        assert time.monotonic() < deadline, output.read_text()[-3000:]
        time.sleep(0.02)


@pytest.mark.slow
def test_a_node_killed_holding_jobs_hands_them_over(postgres_url: str, tmp_path: Path) -> None:
    script = tmp_path / "node.py"
    script.write_text(CHILD)
    a_out, b_out = tmp_path / "a.txt", tmp_path / "b.txt"
    a = spawn(script, postgres_url, a_out, "start", str(JOBS))
    b: subprocess.Popen[bytes] | None = None
    try:
        lines = wait_for_lines(
            a_out,
            lambda lines: (
                "action running" in lines and sum(line.startswith("running") for line in lines) >= 8
            ),
            a,
        )
        a_node = lines[0].split()[1]
        b = spawn(script, postgres_url, b_out, "serve")
        wait_for_lines(b_out, lambda lines: any(line.startswith("node") for line in lines), b)
        os.kill(a.pid, signal.SIGKILL)
        a.wait()
        killed_ms = time.time() * 1000
        held = {row["target"] for row in read(postgres_url, LEASES) if row["node"] == a_node}
        deadline = time.monotonic() + 90
        while True:
            states = Counter(
                job["state"]["kind"] for job in read(postgres_url, "_scheduled_functions")
            )
            if states["pending"] == states["inProgress"] == 0:
                break
            assert b.poll() is None, b_out.read_text()[-3000:]
            assert time.monotonic() < deadline, (states, b_out.read_text()[-3000:])
            time.sleep(0.2)
    finally:
        for process in (a, b):
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
    assert "action running" not in b_out.read_text()  # the action was not run again
    jobs = {job["_id"]: job for job in read(postgres_url, "_scheduled_functions")}
    effects = Counter(int(row["n"]) for row in read(postgres_url, "effects"))
    assert effects == Counter(range(JOBS)), "each mutation job must take effect exactly once"
    assert len(read(postgres_url, "action_starts")) == 1, "the action must not run again"
    [action] = [job for job in jobs.values() if job["name"] == "crash:slow_action"]
    assert action["state"] == {"kind": "failed", "error": TRANSIENT_ACTION_ERROR}
    assert action["completedTime"] > killed_ms  # failed by the survivor once the lease lapsed
    # The dead node held the action and mutation jobs it was running; the survivor
    # took the mutations over and ran each once.
    assert action["_id"] in held
    taken_over = held - {action["_id"]}
    assert taken_over, "the node held no mutation job when it died; nothing was tested"
    assert all(jobs[target]["state"] == {"kind": "success"} for target in taken_over)
    assert Counter(job["state"]["kind"] for job in jobs.values()) == {"success": JOBS, "failed": 1}
    assert read(postgres_url, LEASES) == []
