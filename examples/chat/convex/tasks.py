"""Tasks: the guide's board, plus the cron targets that keep it tidy."""

import time
from typing import Any

from pyconvex import (
    ConvexError,
    internal_action,
    internal_mutation,
    internal_query,
    mutation,
    query,
    v,
)

from ._generated.api import api, internal
from .schema import schema

STATUS = v.union(v.literal("todo"), v.literal("in_progress"), v.literal("done"))
CATEGORIES = ("urgent", "important", "routine")
DAY_MS = 24 * 60 * 60 * 1000
TASK = schema.doc("tasks")


@query(args={"id": v.id("tasks")}, returns=v.union(TASK, v.null()))
async def get(ctx: Any, args: dict[str, Any]) -> Any:
    """One task, or None."""
    return await ctx.db.get(args["id"])


@query(args={"status": v.optional(STATUS)}, returns=v.array(TASK))
async def list(ctx: Any, args: dict[str, Any]) -> Any:
    """Tasks with a status (all of them without one), newest first."""
    if "status" in args:
        rows = ctx.db.query("tasks").with_index(
            "by_status", lambda q: q.eq("status", args["status"])
        )
    else:
        rows = ctx.db.query("tasks")
    return await rows.order("desc").collect()


@mutation(
    args={
        "title": v.string(),
        "description": v.optional(v.string()),
        "assigneeId": v.optional(v.id("users")),
        "dueDate": v.optional(v.number()),
        "tags": v.optional(v.array(v.string())),
    },
    returns=v.id("tasks"),
)
async def create(ctx: Any, args: dict[str, Any]) -> str:
    """A new task in "todo"."""
    now = time.time() * 1000
    return await ctx.db.insert(
        "tasks",
        {
            **args,
            "tags": args.get("tags", []),
            "status": "todo",
            "createdAt": now,
            "updatedAt": now,
        },
    )


@mutation(
    args={
        "id": v.id("tasks"),
        "title": v.optional(v.string()),
        "description": v.optional(v.string()),
        "status": v.optional(STATUS),
        "assigneeId": v.optional(v.id("users")),
        "dueDate": v.optional(v.number()),
        "tags": v.optional(v.array(v.string())),
    },
    returns=v.null(),
)
async def update(ctx: Any, args: dict[str, Any]) -> None:
    """Change some fields of a task (status changes move it on the board)."""
    fields = {key: value for key, value in args.items() if key != "id"}
    if await ctx.db.get(args["id"]) is None:
        raise ConvexError("Task not found")
    await ctx.db.patch(args["id"], {**fields, "updatedAt": time.time() * 1000})


@mutation(args={"id": v.id("tasks")}, returns=v.null())
async def remove(ctx: Any, args: dict[str, Any]) -> None:
    """Delete a task."""
    await ctx.db.delete(args["id"])


@internal_query(returns=v.array(v.id("tasks")))
async def uncategorized(ctx: Any) -> Any:
    """Open tasks that carry no category tag yet."""
    tasks = await ctx.db.query("tasks").collect()
    return [
        task["_id"]
        for task in tasks
        if task["status"] != "done" and not any(tag in CATEGORIES for tag in task["tags"])
    ]


@internal_action
async def categorizePending(ctx: Any) -> int:
    """Cron target: categorize every open task without a category; returns how many."""
    pending = await ctx.run_query(internal.tasks.uncategorized)
    for task_id in pending:
        await ctx.run_action(api.actions.categorizeTask, {"taskId": task_id})
    return len(pending)


@internal_mutation(args={"olderThanDays": v.optional(v.number())})
async def cleanup(ctx: Any, args: dict[str, Any]) -> int:
    """Cron target: delete tasks done for more than 30 days; returns how many."""
    cutoff = time.time() * 1000 - args.get("olderThanDays", 30) * DAY_MS
    done = (
        await ctx.db.query("tasks")
        .with_index("by_status", lambda q: q.eq("status", "done"))
        .collect()
    )
    stale = [task for task in done if task["updatedAt"] < cutoff]
    for task in stale:
        await ctx.db.delete(task["_id"])
    return len(stale)
