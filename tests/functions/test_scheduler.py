"""``ctx.scheduler`` from mutations and actions, on a manual clock (functions/scheduler.py)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pyconvex import ConvexError, Int64, knobs
from pyconvex.errors import SchedulerError
from pyconvex.functions.registry import FunctionKind, Registry

from . import scheduler_app
from .scheduler_harness import START_MS, Deployment


@pytest.fixture
async def app() -> AsyncIterator[Deployment]:
    deployment = Deployment({"jobs": scheduler_app})
    yield deployment
    deployment.close()


async def states(app: Deployment) -> list[str]:
    return [job["state"]["kind"] for job in await app.query("jobs:jobs")]


async def test_a_job_runs_when_due_and_not_before(app: Deployment) -> None:
    job_id = await app.mutation("jobs:after", {"delay": 1000, "text": "a"})
    await app.scheduler.idle()
    assert await app.query("jobs:texts") == []
    job = await app.query("jobs:job", {"id": job_id})
    assert job["state"] == {"kind": "pending"} and "completedTime" not in job
    assert job["name"] == "jobs:record" and job["args"] == [{"text": "a"}]
    assert job["scheduledTime"] == START_MS + 1000
    await app.advance(0.999)
    assert await app.query("jobs:texts") == []
    await app.advance(0.001)
    assert await app.query("jobs:texts") == ["a"]
    job = await app.query("jobs:job", {"id": job_id})
    assert job["state"] == {"kind": "success"}
    assert job["completedTime"] == pytest.approx(START_MS + 1000)


async def test_jobs_run_in_scheduled_time_order(app: Deployment) -> None:
    for delay, text in ((3000, "c"), (1000, "a"), (2000, "b")):
        await app.mutation("jobs:after", {"delay": delay, "text": text})
    await app.mutation("jobs:at", {"at": START_MS + 1500, "text": "a2"})
    for seconds, expected in ((1, ["a"]), (0.5, ["a", "a2"]), (0.5, ["a", "a2", "b"])):
        await app.advance(seconds)
        assert await app.query("jobs:texts") == expected
    await app.advance(1)
    assert await app.query("jobs:texts") == ["a", "a2", "b", "c"]
    assert await states(app) == ["success"] * 4


async def test_due_jobs_start_in_scheduled_time_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knobs, "SCHEDULED_JOB_CONCURRENCY", 1)
    app = Deployment({"jobs": scheduler_app})
    try:
        for delay, text in ((30, "c"), (10, "a"), (20, "b"), (0, "now")):
            await app.mutation("jobs:after", {"delay": delay, "text": text})
        await app.advance(1)
        assert await app.query("jobs:texts") == ["now", "a", "b", "c"]
    finally:
        app.close()


async def test_a_time_in_the_past_runs_at_once(app: Deployment) -> None:
    await app.mutation("jobs:at", {"at": START_MS - 60_000, "text": "late"})
    await app.scheduler.idle()
    assert await app.query("jobs:texts") == ["late"]


async def test_cancel_stops_a_pending_job_and_is_a_no_op_afterwards(app: Deployment) -> None:
    kept = await app.mutation("jobs:after", {"delay": 1000, "text": "kept"})
    dropped = await app.mutation("jobs:after", {"delay": 1000, "text": "dropped"})
    await app.mutation("jobs:cancel", {"id": dropped})
    canceled = await app.query("jobs:job", {"id": dropped})
    assert canceled["state"] == {"kind": "canceled"} and "completedTime" in canceled
    await app.advance(2)
    assert await app.query("jobs:texts") == ["kept"]
    await app.mutation("jobs:cancel", {"id": dropped})  # already canceled: no-op
    await app.mutation("jobs:cancel", {"id": kept})  # already finished: no-op
    assert (await app.query("jobs:job", {"id": kept}))["state"] == {"kind": "success"}
    with pytest.raises(SchedulerError, match="Invalid scheduled function ID"):
        await app.mutation("jobs:cancel", {"id": "not-an-id"})


async def test_a_failed_mutation_schedules_nothing(app: Deployment) -> None:
    with pytest.raises(ConvexError):
        await app.mutation("jobs:schedule_then_fail", {"text": "x"})
    assert await app.query("jobs:jobs") == []
    # A nested mutation that fails rolls back its jobs alone.
    await app.mutation("jobs:nested_failure")
    await app.advance(1)
    assert [job["args"] for job in await app.query("jobs:jobs")] == [[{"text": "outer"}]]
    assert await app.query("jobs:texts") == ["outer"]


async def test_a_failing_job_is_marked_failed_and_its_writes_are_discarded(
    app: Deployment,
) -> None:
    await app.mutation("jobs:schedule", {"name": "jobs:fail", "args": {"text": "x"}})
    await app.mutation(
        "jobs:schedule", {"name": "jobs:fail_action", "args": {}}
    )  # an action failing too
    await app.scheduler.idle()
    assert await app.query("jobs:texts") == []
    jobs = await app.query("jobs:jobs")
    assert [job["state"] for job in jobs] == [
        {"kind": "failed", "error": "Uncaught ConvexError: no x"},
        {"kind": "failed", "error": "Uncaught RuntimeError: the action broke"},
    ]
    assert all(job["completedTime"] >= START_MS for job in jobs)


async def test_scheduled_actions_run_and_their_state_shows_while_running(app: Deployment) -> None:
    await app.mutation("jobs:schedule", {"name": "jobs:record_from_action", "args": {"text": "a"}})
    await app.mutation("jobs:schedule", {"name": "jobs:cancel_self_then_schedule", "args": {}})
    await app.scheduler.idle()
    assert await app.query("jobs:texts") == ["a"]
    jobs = await app.query("jobs:jobs")
    assert jobs[0]["state"] == {"kind": "success"}
    # The second one saw itself in progress, canceled itself, so its child was born canceled.
    assert jobs[1]["state"] == {"kind": "canceled"}
    assert jobs[2]["name"] == "jobs:record" and jobs[2]["state"] == {"kind": "canceled"}


async def test_a_mutation_sees_its_own_job_in_progress_and_may_cancel_it(
    app: Deployment,
) -> None:
    await app.mutation("jobs:schedule", {"name": "jobs:cancel_self", "args": {}})
    await app.scheduler.idle()
    assert await app.query("jobs:texts") == ["inProgress"]
    assert await states(app) == ["canceled"]


async def test_an_action_schedules_at_once_whatever_happens_next(app: Deployment) -> None:
    with pytest.raises(ConvexError, match="the action failed after scheduling"):
        await app.action("jobs:action_schedules", {"text": "from action"})
    [job_id] = await app.query("jobs:remembered")
    assert (await app.query("jobs:job", {"id": job_id}))["scheduledTime"] == START_MS + 1000
    await app.advance(1)
    assert await app.query("jobs:texts") == ["from action"]


async def test_sync_handlers_schedule_and_cancel_with_plain_calls(app: Deployment) -> None:
    kept, dropped = await app.action("jobs:sync_action_schedules")
    await app.mutation("jobs:sync_after")
    await app.advance(120)
    assert sorted(await app.query("jobs:texts")) == ["from sync", "sync action"]
    assert (await app.query("jobs:job", {"id": dropped}))["state"] == {"kind": "canceled"}
    await app.action("jobs:action_cancels", {"id": kept})  # finished: a no-op
    assert (await app.query("jobs:job", {"id": kept}))["state"] == {"kind": "success"}


async def test_arguments_keep_their_convex_types(app: Deployment) -> None:
    await app.mutation("jobs:schedule", {"name": "jobs:record_int", "args": {"n": Int64(7)}})
    await app.scheduler.idle()
    assert await app.query("jobs:texts") == ["Int64 Int64(7)"]


async def test_a_target_that_cannot_run_fails_its_job(app: Deployment) -> None:
    await app.mutation("jobs:schedule", {"name": "jobs:texts", "args": {}})  # a query
    later = await app.mutation("jobs:after", {"delay": 1000, "text": "gone"})
    # The code changes before the job is due: its function no longer exists.
    app.executor.swap_registry(
        Registry({p: d for p, d in app.executor.registry.items() if p != "jobs:record"})
    )
    await app.advance(1)
    jobs = await app.query("jobs:jobs")
    assert jobs[0]["state"] == {
        "kind": "failed",
        "error": 'Unsupported function type. "texts" in module "jobs" is defined as a query. '
        "Only mutations and actions can be scheduled.",
    }
    assert (await app.query("jobs:job", {"id": later}))["state"] == {
        "kind": "failed",
        "error": 'Couldn\'t find "record" in module "jobs".',
    }


@pytest.mark.parametrize(
    ("delay", "target", "args", "message"),
    [
        (-1, "jobs:record", {}, "`delay_ms` must be non-negative"),
        (math.inf, "jobs:record", {}, "`delay_ms` must be a finite number"),
        ("soon", "jobs:record", {}, "`delay_ms` must be a number"),
        (6 * 366 * 24 * 3600 * 1000, "jobs:record", {}, "is more than 5 years in the future"),
        (0, "nowhere:record", {}, "Attempted to schedule function at nonexistent path: nowhere"),
        (
            0,
            "jobs:nothing",
            {},
            "Attempted to schedule function, but no exported function nothing found in the "
            "file: jobs. Did you forget to export it?",
        ),
        (0, "jobs:record", [1], "The arguments to a Convex function must be an object"),
        (0, 42, {}, "Expected a function reference"),
    ],
)
async def test_scheduling_mistakes_fail_the_mutation_with_convexs_messages(
    app: Deployment, delay: Any, target: Any, args: Any, message: str
) -> None:
    async def schedule(ctx: Any) -> None:
        await ctx.scheduler.run_after(delay, target, args)

    app.add("t:schedule", FunctionKind.MUTATION, schedule)
    with pytest.raises(SchedulerError) as raised:
        await app.mutation("t:schedule")
    assert message in raised.value.message
    assert await app.query("jobs:jobs") == []


async def test_run_at_refuses_what_is_not_a_time(app: Deployment) -> None:
    async def schedule(ctx: Any) -> None:
        await ctx.scheduler.run_at("tomorrow", "jobs:record", {"text": "x"})

    app.add("t:schedule", FunctionKind.MUTATION, schedule)
    with pytest.raises(SchedulerError, match="must be a datetime or a timestamp"):
        await app.mutation("t:schedule")
    with pytest.raises(SchedulerError, match="is more than 5 years in the past"):
        await app.mutation("jobs:at", {"at": START_MS - 6 * 366 * 24 * 3600 * 1000, "text": "x"})


async def test_limits_on_what_one_mutation_schedules(
    app: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(knobs, "SCHEDULED_FUNCTIONS_PER_MUTATION_MAX", 3)
    monkeypatch.setattr(knobs, "SCHEDULED_JOB_ARGS_MAX_BYTES", 100)
    monkeypatch.setattr(knobs, "SCHEDULED_FUNCTIONS_ARGS_MAX_BYTES", 150)

    async def many(ctx: Any, args: dict[str, Any]) -> None:
        for _ in range(int(args["count"])):
            await ctx.scheduler.run_after(0, "jobs:record", {"text": "x" * int(args["size"])})

    app.add("t:many", FunctionKind.MUTATION, many)
    await app.mutation("t:many", {"count": 3, "size": 1})
    with pytest.raises(
        SchedulerError, match=r"Too many functions scheduled by this mutation \(limit: 3\)"
    ):
        await app.mutation("t:many", {"count": 4, "size": 1})
    with pytest.raises(SchedulerError, match=r"Too large arguments for a scheduled function"):
        await app.mutation("t:many", {"count": 1, "size": 200})
    with pytest.raises(SchedulerError, match=r"Too large total size of the arguments .* 150 bytes"):
        await app.mutation("t:many", {"count": 2, "size": 80})
    assert len(await app.query("jobs:jobs")) == 3


async def test_runs_of_jobs_are_labeled_in_the_function_logs(app: Deployment) -> None:
    await app.mutation("jobs:after", {"delay": 0, "text": "a"})
    await app.scheduler.idle()
    runs, _ = app.executor.logs.since(0)
    labeled = [(run.path, run.trigger) for run in runs if run.trigger]
    assert labeled == [("jobs:record", "scheduled")]
    assert [run.trigger for run in runs if run.path == "jobs:after"] == [None]


async def test_finished_jobs_are_pruned_after_the_retention(
    app: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(knobs, "SCHEDULED_JOB_RETENTION_SECONDS", 60.0)
    await app.mutation("jobs:after", {"delay": 0, "text": "old"})
    await app.mutation("jobs:after", {"delay": 3 * 3600 * 1000, "text": "later"})
    await app.scheduler.idle()  # "old" finished at the start
    await app.advance(2 * 3600)
    assert [job["args"] for job in await app.query("jobs:jobs")] == [[{"text": "later"}]]
