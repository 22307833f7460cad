"""A small app for the scheduler tests: jobs that leave a trace in the ``log`` table."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from pyconvex import (
    ConvexError,
    action,
    internal_action,
    internal_mutation,
    internal_query,
    mutation,
    query,
    v,
)


@internal_mutation(args={"text": v.string()})
async def record(ctx: Any, args: dict[str, Any]) -> str:
    """A job: leave ``text`` in the log."""
    await ctx.db.insert("log", {"text": args["text"], "at": time.time() * 1000})
    return args["text"]


@internal_mutation(args={"n": v.int64()})
async def record_int(ctx: Any, args: dict[str, Any]) -> None:
    """A job whose argument must arrive as an Int64."""
    await ctx.db.insert("log", {"text": f"{type(args['n']).__name__} {args['n']}", "at": 0})


@internal_mutation(args={"text": v.string()})
async def fail(ctx: Any, args: dict[str, Any]) -> None:
    """A job that writes, then fails: its write must not survive."""
    await ctx.db.insert("log", {"text": args["text"], "at": 0})
    raise ConvexError(f"no {args['text']}")


@internal_action(args={"text": v.string()})
async def record_from_action(ctx: Any, args: dict[str, Any]) -> str:
    """An action job: records through a mutation."""
    await ctx.run_mutation("jobs:record", {"text": args["text"]})
    return args["text"]


@internal_action
async def fail_action(ctx: Any) -> None:
    """An action job that fails."""
    raise RuntimeError("the action broke")


@query
async def texts(ctx: Any) -> list[str]:
    """What the jobs left in the log, in order."""
    return [row["text"] for row in await ctx.db.query("log").collect()]


@query
async def log_ids(ctx: Any) -> list[str]:
    """The IDs of the log rows, in order."""
    return [row["_id"] for row in await ctx.db.query("log").collect()]


@query
async def jobs(ctx: Any) -> list[dict[str, Any]]:
    """Every ``_scheduled_functions`` row, oldest first."""
    rows: list[dict[str, Any]] = await ctx.db.system.query("_scheduled_functions").collect()
    return rows


@query(args={"id": v.id("_scheduled_functions")})
async def job(ctx: Any, args: dict[str, Any]) -> Any:
    """One job row, read by ID through ``db.system``."""
    return await ctx.db.system.get(args["id"])


@query
async def crons(ctx: Any) -> list[dict[str, Any]]:
    """Every ``_cron_jobs`` row."""
    rows: list[dict[str, Any]] = await ctx.db.system.query("_cron_jobs").collect()
    return rows


@mutation(args={"delay": v.number(), "text": v.string()})
async def after(ctx: Any, args: dict[str, Any]) -> str:
    """Schedule ``record`` ``delay`` ms from now."""
    job_id: str = await ctx.scheduler.run_after(
        args["delay"], "jobs:record", {"text": args["text"]}
    )
    return job_id


@mutation(args={"at": v.number(), "text": v.string()})
async def at(ctx: Any, args: dict[str, Any]) -> str:
    """Schedule ``record`` at a time, given as a datetime."""
    moment = datetime.fromtimestamp(args["at"] / 1000, UTC)
    job_id: str = await ctx.scheduler.run_at(moment, "jobs:record", {"text": args["text"]})
    return job_id


@mutation(args={"name": v.string(), "args": v.any()})
async def schedule(ctx: Any, args: dict[str, Any]) -> str:
    """Schedule any function now."""
    job_id: str = await ctx.scheduler.run_after(0, args["name"], args["args"])
    return job_id


@mutation
def sync_after(ctx: Any, args: dict[str, Any]) -> str:
    """A sync mutation schedules with plain calls."""
    job_id: str = ctx.scheduler.run_after(0, "jobs:record", {"text": "from sync"})
    return job_id


@mutation(args={"text": v.string()})
async def schedule_then_fail(ctx: Any, args: dict[str, Any]) -> None:
    """Schedules, then fails: nothing may be scheduled."""
    await ctx.scheduler.run_after(0, "jobs:record", {"text": args["text"]})
    raise ConvexError("changed my mind")


@mutation
async def nested_failure(ctx: Any) -> str:
    """A nested mutation schedules and fails (rolled back alone); this one schedules too."""
    try:
        await ctx.run_mutation("jobs:schedule_then_fail", {"text": "inner"})
    except ConvexError:
        pass
    job_id: str = await ctx.scheduler.run_after(0, "jobs:record", {"text": "outer"})
    return job_id


@mutation(args={"id": v.string()})
async def cancel(ctx: Any, args: dict[str, Any]) -> None:
    """Cancel a job."""
    await ctx.scheduler.cancel(args["id"])


@internal_mutation
async def cancel_self(ctx: Any) -> None:
    """A job that sees its own row in progress, then cancels itself."""
    mine = [
        row
        for row in await ctx.db.system.query("_scheduled_functions").collect()
        if row["name"] == "jobs:cancel_self"
    ]
    await ctx.db.insert("log", {"text": mine[0]["state"]["kind"], "at": 0})
    await ctx.scheduler.cancel(mine[0]["_id"])


@internal_query(args={"name": v.string()})
async def running(ctx: Any, args: dict[str, Any]) -> list[str]:
    """The IDs of the running jobs of one action."""
    rows = await ctx.db.system.query("_scheduled_functions").collect()
    return [
        row["_id"]
        for row in rows
        if row["state"]["kind"] == "inProgress" and row["name"] == args["name"]
    ]


@internal_action
async def cancel_self_then_schedule(ctx: Any) -> str:
    """An action job that cancels itself: what it schedules afterwards is created canceled."""
    for job_id in await ctx.run_query("jobs:running", {"name": "jobs:cancel_self_then_schedule"}):
        await ctx.scheduler.cancel(job_id)
    child: str = await ctx.scheduler.run_after(0, "jobs:record", {"text": "child"})
    return child


@action(args={"text": v.string()})
async def action_schedules(ctx: Any, args: dict[str, Any]) -> str:
    """An action schedules (committed at once), then fails."""
    job_id: str = await ctx.scheduler.run_after(1000, "jobs:record", {"text": args["text"]})
    await ctx.run_mutation("jobs:remember", {"id": job_id})
    raise ConvexError("the action failed after scheduling")


@internal_mutation(args={"id": v.string()})
async def remember(ctx: Any, args: dict[str, Any]) -> None:
    """Keep a job ID for the test to find."""
    await ctx.db.insert("ids", {"id": args["id"]})


@query
async def remembered(ctx: Any) -> list[str]:
    """The kept job IDs."""
    return [row["id"] for row in await ctx.db.query("ids").collect()]


@action
def sync_action_schedules(ctx: Any) -> list[str]:
    """A sync action schedules and cancels with plain calls."""
    kept = ctx.scheduler.run_after(0, "jobs:record", {"text": "sync action"})
    dropped = ctx.scheduler.run_after(60_000, "jobs:record", {"text": "never"})
    ctx.scheduler.cancel(dropped)
    return [kept, dropped]


@action
async def action_cancels(ctx: Any, args: dict[str, Any]) -> None:
    """An action cancels a job."""
    await ctx.scheduler.cancel(args["id"])
