"""An app for the scheduler across nodes: every job leaves one tagged row in ``effects``."""

from __future__ import annotations

from typing import Any

from pyconvex import internal_action, internal_mutation, mutation, query, v


@internal_mutation(args={"tag": v.string()})
async def effect(ctx: Any, args: dict[str, Any]) -> None:
    """A mutation job: one row per run."""
    await ctx.db.insert("effects", {"tag": args["tag"]})


@internal_action(args={"tag": v.string()})
async def action_effect(ctx: Any, args: dict[str, Any]) -> None:
    """An action job: one row per run, through a mutation."""
    await ctx.run_mutation("jobs:effect", {"tag": args["tag"]})


@mutation(args={"mutations": v.number(), "actions": v.number(), "delay": v.number()})
async def schedule_many(ctx: Any, args: dict[str, Any]) -> None:
    """Schedule ``mutations`` mutation jobs and ``actions`` action jobs, all due at once."""
    for n in range(int(args["mutations"])):
        await ctx.scheduler.run_after(args["delay"], "jobs:effect", {"tag": f"m{n}"})
    for n in range(int(args["actions"])):
        await ctx.scheduler.run_after(args["delay"], "jobs:action_effect", {"tag": f"a{n}"})


@query
async def tags(ctx: Any) -> list[str]:
    """The tag of every effect, oldest first."""
    return [row["tag"] for row in await ctx.db.query("effects").collect()]


@query
async def job_states(ctx: Any) -> list[str]:
    """The state of every scheduled job."""
    rows = await ctx.db.system.query("_scheduled_functions").collect()
    return [row["state"]["kind"] for row in rows]


@query
async def jobs(ctx: Any) -> list[dict[str, Any]]:
    """Every scheduled job's row."""
    rows: list[dict[str, Any]] = await ctx.db.system.query("_scheduled_functions").collect()
    return rows
