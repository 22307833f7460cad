"""The job runner: recovery, cron jobs and their reconciliation (functions/job_runner.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from pyconvex import cron_jobs, v
from pyconvex.clock import ManualClock
from pyconvex.database.database import Database
from pyconvex.errors import CronJobError
from pyconvex.functions.cron import Crons
from pyconvex.functions.job_runner import TRANSIENT_ACTION_ERROR, check_crons, job_error_text
from pyconvex.functions.registry import FunctionDefinition, FunctionKind, Registry
from pyconvex.storage.sqlite import SqlitePersistence

from . import scheduler_app
from .scheduler_harness import START_MS, Deployment

MINUTE_MS = 60_000
DAY_MS = 24 * 60 * MINUTE_MS


def crons_of(**jobs: tuple[str, Any, str, dict[str, Any] | None]) -> Crons:
    """``name=(method, schedule, target, args)`` cron jobs."""
    crons = cron_jobs()
    for name, (method, schedule, target, args) in jobs.items():
        getattr(crons, method)(name, schedule, target, args)
    return crons


async def cron_rows(app: Deployment) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in await app.query("jobs:crons")}


async def test_an_interval_cron_runs_at_deploy_then_every_interval() -> None:
    crons = crons_of(tick=("interval", {"minutes": 5}, "jobs:record", {"text": "tick"}))
    app = Deployment({"jobs": scheduler_app}, crons=crons)
    try:
        await app.scheduler.idle()
        assert await app.query("jobs:texts") == ["tick"]
        row = (await cron_rows(app))["tick"]
        assert row["function"] == "jobs:record" and row["args"] == [{"text": "tick"}]
        assert row["spec"] == {"type": "interval", "minutes": 5}
        assert row["lastRun"] == START_MS and row["nextRun"] == START_MS + 5 * MINUTE_MS
        assert row["lastResult"] == {"kind": "success", "value": "tick"}
        assert row["state"] == {"kind": "pending"}
        await app.advance(4 * 60)
        assert await app.query("jobs:texts") == ["tick"]
        await app.advance(60)
        assert await app.query("jobs:texts") == ["tick", "tick"]
        # Down (or busy) for an hour: one run, not twelve, then back on the 5-minute grid.
        await app.advance(3600)
        assert await app.query("jobs:texts") == ["tick"] * 3
        assert (await cron_rows(app))["tick"]["nextRun"] == START_MS + 70 * MINUTE_MS
        runs, _ = app.executor.logs.since(0)
        assert {run.trigger for run in runs if run.path == "jobs:record"} == {'cron "tick"'}
    finally:
        app.close()


async def test_calendar_crons_run_on_the_hour_of_their_day_and_failures_are_kept() -> None:
    crons = crons_of(
        digest=("daily", {"hourUTC": 9, "minuteUTC": 0}, "jobs:record_from_action", {"text": "d"}),
        broken=("daily", {"hourUTC": 9, "minuteUTC": 0}, "jobs:fail", {"text": "b"}),
        weekly=(
            "weekly",
            {"dayOfWeek": "tuesday", "hourUTC": 0, "minuteUTC": 0},
            "jobs:record",
            {"text": "w"},
        ),
    )
    app = Deployment({"jobs": scheduler_app}, crons=crons)
    try:
        rows = await cron_rows(app)
        assert rows["digest"]["nextRun"] == START_MS + 9 * 3600 * 1000
        assert rows["weekly"]["nextRun"] == START_MS + DAY_MS  # Monday → Tuesday 00:00
        await app.advance(9 * 3600)
        assert await app.query("jobs:texts") == ["d"]
        rows = await cron_rows(app)
        assert rows["digest"]["nextRun"] == START_MS + DAY_MS + 9 * 3600 * 1000
        assert rows["digest"]["lastResult"] == {"kind": "success", "value": "d"}
        assert rows["broken"]["lastResult"] == {
            "kind": "failed",
            "error": "Uncaught ConvexError: no b",
        }
        assert rows["broken"]["nextRun"] == rows["digest"]["nextRun"]
        # Two weeks pass at once: each cron runs once.
        await app.advance(14 * 24 * 3600)
        assert sorted(await app.query("jobs:texts")) == ["d", "d", "w"]
    finally:
        app.close()


async def test_reconcile_keeps_unchanged_jobs_updates_changed_ones_and_drops_removed() -> None:
    first = crons_of(
        same=("interval", {"hours": 1}, "jobs:record", {"text": "same"}),
        retimed=("interval", {"hours": 1}, "jobs:record", {"text": "retimed"}),
        reargued=("interval", {"hours": 1}, "jobs:record", {"text": "old args"}),
        removed=("interval", {"hours": 1}, "jobs:record", {"text": "removed"}),
    )
    app = Deployment({"jobs": scheduler_app}, crons=first)
    try:
        await app.advance(600)
        before = await cron_rows(app)
        assert sorted(before) == ["reargued", "removed", "retimed", "same"]
        second = crons_of(
            same=("interval", {"hours": 1}, "jobs:record", {"text": "same"}),
            retimed=("interval", {"hours": 2}, "jobs:record", {"text": "retimed"}),
            reargued=("interval", {"hours": 1}, "jobs:record", {"text": "new args"}),
            added=("hourly", {"minuteUTC": 30}, "jobs:record", {"text": "added"}),
        )
        app.scheduler.stop()  # see the rows as reconciling leaves them, before any run
        app.scheduler.set_crons(second)
        after = await cron_rows(app)
        assert sorted(after) == ["added", "reargued", "retimed", "same"]
        assert after["same"] == before["same"]
        assert after["retimed"]["spec"] == {"type": "interval", "hours": 2}
        assert after["retimed"]["nextRun"] == app.now_ms  # a new interval starts now
        assert after["retimed"]["lastRun"] == before["retimed"]["lastRun"]
        assert after["reargued"]["args"] == [{"text": "new args"}]
        assert after["reargued"]["nextRun"] == before["reargued"]["nextRun"]
        assert after["added"]["nextRun"] == START_MS + 30 * MINUTE_MS
        app.scheduler.set_crons(None)
        assert await cron_rows(app) == {}
    finally:
        app.close()


def test_check_crons_refuses_targets_that_cannot_run_them() -> None:
    registry = Registry.from_modules({"jobs": scheduler_app})
    check_crons(crons_of(ok=("hourly", {"minuteUTC": 1}, "jobs:record", {"text": "x"})), registry)
    with pytest.raises(CronJobError, match="'a' runs jobs:nothing, which does not exist"):
        check_crons(crons_of(a=("hourly", {}, "jobs:nothing", None)), registry)
    with pytest.raises(CronJobError, match="jobs:texts, a query"):
        check_crons(crons_of(a=("hourly", {}, "jobs:texts", None)), registry)
    with pytest.raises(CronJobError, match="passes arguments that jobs:record refuses"):
        check_crons(crons_of(a=("hourly", {}, "jobs:record", {"text": 1})), registry)


async def test_an_action_cut_short_by_a_crash_fails_and_is_never_rerun(tmp_path: Path) -> None:
    """At most once: a job or cron left in progress by a dead server is failed at start."""
    path = tmp_path / "db.sqlite3"
    persistence = SqlitePersistence(path)
    database = Database(persistence)
    transaction = database.begin(writable=True)
    transaction.system_writes = True
    job_id = transaction.insert(
        "_scheduled_functions",
        {
            "name": "jobs:record_from_action",
            "args": [{"text": "again?"}],
            "scheduledTime": START_MS,
            "state": {"kind": "inProgress"},
        },
    )
    transaction.insert(
        "_cron_jobs",
        {
            "name": "hourly action",
            "function": "jobs:record_from_action",
            "args": [{"text": "cron again?"}],
            "spec": {"type": "hourly", "minuteUTC": 0},
            "nextRun": START_MS,
            "state": {"kind": "inProgress"},
        },
    )
    database.commit(transaction).result()
    database.close()
    crons = crons_of(
        **{
            "hourly action": (
                "hourly",
                {"minuteUTC": 0},
                "jobs:record_from_action",
                {"text": "cron again?"},
            )
        }
    )
    app = Deployment({"jobs": scheduler_app}, crons=crons, persistence=persistence)
    try:
        await app.scheduler.idle()
        assert await app.query("jobs:texts") == []
        job = await app.query("jobs:job", {"id": job_id})
        assert job["state"] == {"kind": "failed", "error": TRANSIENT_ACTION_ERROR}
        row = (await cron_rows(app))["hourly action"]
        assert row["lastResult"] == {"kind": "failed", "error": TRANSIENT_ACTION_ERROR}
        assert row["state"] == {"kind": "pending"} and row["nextRun"] == START_MS + 3600 * 1000
        runs, _ = app.executor.logs.since(0)
        assert [(r.trigger, r.outcome, r.error) for r in runs if r.trigger] == [
            ("scheduled", "failure", TRANSIENT_ACTION_ERROR),
            ('cron "hourly action"', "failure", TRANSIENT_ACTION_ERROR),
        ]
    finally:
        app.close()


async def test_stopping_abandons_a_running_action_which_then_fails(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def blocking(ctx: Any) -> None:
        started.set()
        release.wait(30)

    persistence = SqlitePersistence(tmp_path / "db.sqlite3")
    clock = ManualClock(start_ns=int(START_MS * 1_000_000))
    app = Deployment({"jobs": scheduler_app}, persistence=persistence, clock=clock)
    app.executor.registry.add(
        "slow:run", FunctionDefinition(FunctionKind.ACTION, blocking, internal=True)
    )
    job_id = await app.mutation("jobs:schedule", {"name": "slow:run", "args": {}})
    assert started.wait(10)
    assert (await app.query("jobs:job", {"id": job_id}))["state"] == {"kind": "inProgress"}
    app.scheduler.stop()
    app.backend.executor.close()
    app.backend.database.close()
    release.set()
    again = Deployment(
        {"jobs": scheduler_app}, persistence=SqlitePersistence(tmp_path / "db.sqlite3"), clock=clock
    )
    try:
        await again.scheduler.idle()
        job = await again.query("jobs:job", {"id": job_id})
        assert job["state"] == {"kind": "failed", "error": TRANSIENT_ACTION_ERROR}
    finally:
        again.close()
        persistence.close()


def test_job_errors_read_as_convex_writes_them() -> None:
    from pyconvex import ConvexError
    from pyconvex.errors import ArgumentValidationError, DocumentError

    assert job_error_text(ConvexError({"code": 1})) == 'Uncaught ConvexError: {"code": 1.0}'
    assert job_error_text(ArgumentValidationError("ArgumentValidationError: x")) == (
        "ArgumentValidationError: x"
    )
    assert job_error_text(DocumentError("bad write")) == "Uncaught Error: bad write"
    assert job_error_text(KeyError("k")) == "Uncaught KeyError: 'k'"
    assert job_error_text(RuntimeError()) == "Uncaught RuntimeError"
    assert v is not None


async def test_a_mutation_job_commits_with_its_outcome_and_conflicts_rerun_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exactly once: the job turns ``success`` in the very commit of the mutation's writes."""
    from pyconvex import knobs
    from pyconvex.values.ids import id_to_binary

    monkeypatch.setattr(knobs, "OCC_INITIAL_BACKOFF_SECONDS", 0.001)
    app = Deployment({"jobs": scheduler_app})
    attempts = 0

    async def contended(ctx: Any) -> str:
        nonlocal attempts
        attempts += 1
        rows = await ctx.db.query("log").collect()
        if attempts == 1:  # someone else writes what this run read: it must run again
            await app.mutation("jobs:record", {"text": "interloper"})
        return await ctx.db.insert("log", {"text": f"seen {len(rows)}", "at": 0})

    app.add("t:contended", FunctionKind.MUTATION, contended)
    try:
        job_id = await app.mutation("jobs:schedule", {"name": "t:contended", "args": {}})
        await app.scheduler.idle()
        assert attempts == 2
        assert await app.query("jobs:texts") == ["interloper", "seen 1"]
        effect = [r for r in app.executor.logs.since(0)[0] if r.path == "t:contended"]
        assert [r.outcome for r in effect] == ["success"]
        persistence, ts = app.persistence, app.backend.database.latest_ts
        effect_id = (await app.query("jobs:log_ids"))[-1]
        job_revision = persistence.get_revision(id_to_binary(job_id), ts)
        effect_revision = persistence.get_revision(id_to_binary(effect_id), ts)
        assert job_revision is not None and effect_revision is not None
        assert job_revision.ts == effect_revision.ts
        assert (await app.query("jobs:job", {"id": job_id}))["state"] == {"kind": "success"}
    finally:
        app.close()
