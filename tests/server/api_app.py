"""Functions exercised by the HTTP API and official-client tests."""

from __future__ import annotations

from typing import Any

from pyconvex import (
    ConvexError,
    Int64,
    action,
    internal_query,
    mutation,
    pagination_opts_validator,
    query,
    v,
)


@query
async def echo(ctx: Any, args: dict[str, Any]) -> Any:
    return args


@query(args={"n": v.int64()})
async def double(ctx: Any, args: dict[str, Any]) -> Any:
    return args["n"] * 2


@mutation(args={"text": v.string()})
async def add(ctx: Any, args: dict[str, Any]) -> str:
    return await ctx.db.insert("notes", {"text": args["text"]})


@query
async def count(ctx: Any) -> int:
    return len(await ctx.db.query("notes").collect())


@action(args={"text": v.string()})
async def add_twice(ctx: Any, args: dict[str, Any]) -> int:
    await ctx.run_mutation("api:add", args)
    await ctx.run_mutation("api:add", args)
    return await ctx.run_query("api:count")


@query
async def fail(ctx: Any) -> None:
    raise ConvexError({"code": Int64(7), "why": "because"})


@mutation
async def crash(ctx: Any) -> None:
    raise RuntimeError("something broke")


@internal_query
async def hidden(ctx: Any) -> str:
    return "secret"


@mutation(args={"text": v.string()})
async def chatty(ctx: Any, args: dict[str, Any]) -> str:
    import logging
    import sys

    print("saving", args["text"], 3)
    print("careful", file=sys.stderr)
    logging.getLogger(__name__).info("info %s", "line")
    if args["text"] == "fail":
        raise ConvexError("refused")
    return "ok"


@query
async def greeting(ctx: Any) -> Any:
    from pyconvex import env

    return env.get("GREETING", "unset")


@action
async def greeting_in_action(ctx: Any) -> Any:
    from pyconvex import env

    return env.get("GREETING")


@query
async def texts(ctx: Any) -> list[str]:
    return [note["text"] for note in await ctx.db.query("notes").collect()]


@mutation(args={"text": v.string(), "seconds": v.number()})
def slow_add(ctx: Any, args: dict[str, Any]) -> str:
    import time

    time.sleep(args["seconds"])  # long enough for a test to kill the server mid-mutation
    return ctx.db.insert("notes", {"text": args["text"]})


@query(args={"paginationOpts": pagination_opts_validator})
async def notes_page(ctx: Any, args: dict[str, Any]) -> Any:
    return await ctx.db.query("notes").order("desc").paginate(args["paginationOpts"])


@mutation(args={"text": v.string()})
async def remove_by_text(ctx: Any, args: dict[str, Any]) -> None:
    for note in await ctx.db.query("notes").collect():
        if note["text"] == args["text"]:
            await ctx.db.delete(note["_id"])
