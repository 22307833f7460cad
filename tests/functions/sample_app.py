"""A small app used by the executor tests: counters, nesting, determinism, timeouts."""

from __future__ import annotations

import asyncio
import random
import socket
import time
import uuid
from typing import Any

from pyconvex import ConvexError, Int64, action, internal_query, mutation, query, v
from pyconvex.database.schema import define_schema, define_table

schema = define_schema(
    {
        "counters": define_table({"name": v.string(), "value": v.int64()}).index(
            "by_name", ["name"]
        ),
        "notes": define_table({"text": v.string()}),
    }
)


@mutation(args={"name": v.string()})
async def create_counter(ctx: Any, args: dict[str, Any]) -> str:
    return await ctx.db.insert("counters", {"name": args["name"], "value": 0})


@mutation(args={"id": v.id("counters")})
async def increment(ctx: Any, args: dict[str, Any]) -> Any:
    counter = await ctx.db.get(args["id"])
    await ctx.db.patch(args["id"], {"value": counter["value"] + 1})
    return counter["value"] + 1


@query(args={"name": v.string()}, returns=v.union(v.int64(), v.null()))
async def value_of(ctx: Any, args: dict[str, Any]) -> Any:
    counter = await (
        ctx.db.query("counters")
        .with_index("by_name", lambda q: q.eq("name", args["name"]))
        .unique()
    )
    return None if counter is None else counter["value"]


@query
def sync_count(ctx: Any) -> int:
    return len(ctx.db.query("counters").collect())


@query(args={"ids": v.array(v.id("counters"))})
async def gathered(ctx: Any, args: dict[str, Any]) -> list[Any]:
    documents = await asyncio.gather(*(ctx.db.get(i) for i in args["ids"]))
    return [d["name"] for d in documents]


@mutation(args={"text": v.string()})
async def add_note(ctx: Any, args: dict[str, Any]) -> str:
    return await ctx.db.insert("notes", {"text": args["text"]})


@mutation(args={"text": v.string()})
async def add_note_then_fail(ctx: Any, args: dict[str, Any]) -> None:
    await ctx.db.insert("notes", {"text": args["text"]})
    raise ConvexError({"code": Int64(42), "message": "nope"})


@mutation
async def nested_rollback(ctx: Any) -> list[str]:
    await ctx.run_mutation("sample:add_note", {"text": "kept"})
    try:
        await ctx.run_mutation("sample:add_note_then_fail", {"text": "rolled back"})
    except ConvexError as error:
        assert error.data["code"] == 42
    notes = await ctx.db.query("notes").collect()
    return [n["text"] for n in notes]


@mutation
async def fails_after_writing(ctx: Any) -> None:
    await ctx.db.insert("notes", {"text": "never"})
    raise RuntimeError("boom")


@query
async def notes(ctx: Any) -> list[str]:
    return [n["text"] for n in await ctx.db.query("notes").collect()]


@internal_query
async def secret(ctx: Any) -> str:
    return "internal"


@query
async def calls_internal(ctx: Any) -> str:
    return await ctx.run_query("sample:secret")


@query
async def clock_and_randomness(ctx: Any) -> dict[str, Any]:
    first = time.time()
    time.sleep(0.05)  # a real wait: frozen time must not move
    return {
        "first": first,
        "second": time.time(),
        "random": [random.random(), random.random()],
        "uuid": str(uuid.uuid4()),
    }


@query
async def uses_network(ctx: Any) -> None:
    socket.create_connection(("127.0.0.1", 9))


@action
async def real_clock(ctx: Any) -> list[float]:
    first = time.time()
    await asyncio.sleep(0.05)
    return [first, time.time()]


@query(args={"seconds": v.number()})
def busy(ctx: Any, args: dict[str, Any]) -> int:
    deadline = time.monotonic() + args["seconds"]
    spins = 0
    while time.monotonic() < deadline:
        spins += 1
    return spins


@query(args={"seconds": v.number()})
async def busy_async(ctx: Any, args: dict[str, Any]) -> int:
    deadline = time.monotonic() + args["seconds"]
    spins = 0
    while time.monotonic() < deadline:
        spins += 1
    return spins


@query
async def quick(ctx: Any) -> str:
    return "ok"


@query(returns=v.string())
async def wrong_return(ctx: Any) -> Any:
    return 5


@action(args={"name": v.string()})
async def action_round_trip(ctx: Any, args: dict[str, Any]) -> Any:
    counter_id = await ctx.run_mutation("sample:create_counter", {"name": args["name"]})
    await ctx.run_mutation("sample:increment", {"id": counter_id})
    return await ctx.run_query("sample:value_of", {"name": args["name"]})


@action(args={"name": v.string()})
def sync_action(ctx: Any, args: dict[str, Any]) -> Any:
    counter_id = ctx.run_mutation("sample:create_counter", {"name": args["name"]})
    return ctx.run_query("sample:value_of", {"name": args["name"]}), counter_id


@query
async def iterate_and_system(ctx: Any) -> dict[str, Any]:
    names = [c["name"] async for c in ctx.db.query("counters")]
    files = await ctx.db.system.query("_storage").collect()
    try:
        ctx.db.query("_storage")
        direct = "allowed"
    except Exception as error:
        direct = type(error).__name__
    return {"names": names, "files": files, "direct": direct}
