"""Crash safety of scheduled jobs: SIGKILL a backend while jobs run, restart, count effects.

The child process runs a real backend on a SQLite file. It schedules an
action that announces itself and then waits, and 60 mutations that each
write one effect row and linger a little before committing. The parent kills
the child with SIGKILL once the action and some mutations are running,
restarts it on the same file, and waits until the jobs are done. Then every
mutation's effect must be there exactly once (exactly once), and the action
must have started once and be marked failed (at most once).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer
from pyconvex.functions.job_runner import TRANSIENT_ACTION_ERROR
from pyconvex.storage.sqlite import SqlitePersistence

JOBS = 60

CHILD = textwrap.dedent(
    """
    import asyncio, os, sys, time
    from pyconvex import internal_action, internal_mutation, mutation, v
    from pyconvex.application import Backend
    from pyconvex.functions.registry import Registry
    from pyconvex.storage.sqlite import SqlitePersistence

    @internal_mutation(args={"n": v.number()})
    def effect(ctx, args):
        ctx.db.insert("effects", {"n": args["n"]})
        os.write(1, f"running {int(args['n'])}\\n".encode())
        time.sleep(0.02)  # still uncommitted: a kill now loses this attempt

    @internal_mutation
    def action_started(ctx):
        ctx.db.insert("action_starts", {})

    @internal_action
    async def slow_action(ctx):
        await ctx.run_mutation("crash:action_started")
        os.write(1, b"action running\\n")
        await asyncio.sleep(120)

    @mutation(args={"count": v.number()})
    def schedule_all(ctx, args):
        ctx.scheduler.run_after(0, "crash:slow_action")
        for n in range(int(args["count"])):
            ctx.scheduler.run_after(0, "crash:effect", {"n": n})

    async def main():
        backend = Backend(
            SqlitePersistence(sys.argv[1]), Registry.from_modules({"crash": sys.modules[__name__]})
        )
        if sys.argv[2] == "start":
            await backend.executor.run_mutation("crash:schedule_all", {"count": int(sys.argv[3])})
            await asyncio.Event().wait()  # run jobs until killed
        else:
            assert await asyncio.to_thread(backend.scheduler.wait_idle, 60)
            print("idle", flush=True)
            backend.close()

    asyncio.run(main())
    """
)


def run_child(script: Path, database: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), str(database), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read(database_path: Path, table: str) -> list[dict[str, object]]:
    persistence = SqlitePersistence(database_path)
    database = Database(persistence)
    try:
        rows: list[dict[str, object]] = QueryInitializer(
            database.begin(writable=False), table, sync=True
        ).collect()
        return rows
    finally:
        database.close()
        persistence.close()


@pytest.mark.slow
def test_jobs_survive_sigkill_mutations_exactly_once_actions_at_most_once(
    tmp_path: Path,
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    database = tmp_path / "jobs.sqlite3"
    child = run_child(script, database, "start", str(JOBS))
    seen: list[str] = []
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 60
        # Kill while the action waits and mutations are mid-flight.
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            seen.append(line.strip())
            if "action running" in seen and sum(s.startswith("running") for s in seen) >= 20:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        errors = child.stderr.read() if child.stderr else ""
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert "action running" in seen, errors[-3000:]
    started_before = {s for s in seen if s.startswith("running")}
    assert len(started_before) < JOBS, "every job finished before the kill; nothing was tested"

    resumed = run_child(script, database, "resume")
    output, errors = resumed.communicate(timeout=120)
    assert resumed.returncode == 0 and "idle" in output, errors[-3000:]

    effects = Counter(int(row["n"]) for row in read(database, "effects"))  # type: ignore[call-overload]
    assert effects == Counter(range(JOBS)), "each mutation job must take effect exactly once"
    assert len(read(database, "action_starts")) == 1, "the action must not run again"
    jobs = read(database, "_scheduled_functions")
    states = Counter(job["state"]["kind"] for job in jobs)  # type: ignore[index]
    assert states == {"success": JOBS, "failed": 1}
    [action] = [job for job in jobs if job["name"] == "crash:slow_action"]
    assert action["state"] == {"kind": "failed", "error": TRANSIENT_ACTION_ERROR}
