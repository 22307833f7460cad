"""A first query and mutation: a to-do list. Rename, extend or delete freely."""

from typing import Any

from pyconvex import mutation, query, v


@query
async def list(ctx: Any) -> Any:
    """Every task, oldest first."""
    return await ctx.db.query("tasks").collect()


@mutation(args={"text": v.string()})
async def add(ctx: Any, args: dict[str, Any]) -> str:
    """Add a task; returns its id."""
    return await ctx.db.insert("tasks", {"text": args["text"], "isCompleted": False})


@mutation(args={"id": v.id("tasks")})
async def toggle(ctx: Any, args: dict[str, Any]) -> None:
    """Mark a task done, or not done again."""
    task = await ctx.db.get(args["id"])
    if task is not None:
        await ctx.db.patch(args["id"], {"isCompleted": not task["isCompleted"]})
