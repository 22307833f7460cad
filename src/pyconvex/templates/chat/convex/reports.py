"""The weekly report (a cron target, or scheduled on demand)."""

import time
from typing import Any

from pyconvex import internal_mutation, query, v

from ._generated.api import internal
from .schema import schema

WEEK_MS = 7 * 24 * 60 * 60 * 1000


@internal_mutation
async def generateWeekly(ctx: Any) -> str:
    """Cron target: store task counts by status and last week's message count."""
    now = time.time() * 1000
    by_status: dict[str, float] = {}
    for task in await ctx.db.query("tasks").collect():
        by_status[task["status"]] = by_status.get(task["status"], 0) + 1
    messages = await ctx.db.query("messages").collect()
    return await ctx.db.insert(
        "reports",
        {
            "kind": "weekly",
            "createdAt": now,
            "tasksByStatus": by_status,
            "messagesLastWeek": sum(1 for m in messages if m["createdAt"] >= now - WEEK_MS),
        },
    )


@internal_mutation(args={"delayMs": v.optional(v.number())}, returns=v.id("_scheduled_functions"))
async def scheduleWeekly(ctx: Any, args: dict[str, Any]) -> str:
    """Generate the weekly report in the background, ``delayMs`` from now (at once by default).

    Returns the scheduled job's ID (``_scheduled_functions``), which can cancel it.
    """
    job_id: str = await ctx.scheduler.run_after(
        args.get("delayMs", 0), internal.reports.generateWeekly
    )
    return job_id


@query(returns=v.union(schema.doc("reports"), v.null()))
async def latest(ctx: Any) -> Any:
    """The newest report, or None."""
    return await ctx.db.query("reports").with_index("by_created_at").order("desc").first()
