"""Messages: the guide's queries and mutations, in Python."""

import asyncio
import time
from typing import Any

from pyconvex import (
    ConvexError,
    mutation,
    pagination_opts_validator,
    pagination_result_validator,
    query,
    v,
)

from .schema import schema
from .users import current_user

# What the frontend gets: typed end to end through the generated api.d.ts.
MESSAGE = schema.doc("messages")
MESSAGE_WITH_USER = MESSAGE.extend({"user": v.union(schema.doc("users"), v.null())})


@query(args={"channelId": v.id("channels")}, returns=v.array(MESSAGE_WITH_USER))
async def list(ctx: Any, args: dict[str, Any]) -> Any:
    """The channel's 100 newest messages, each with its author."""
    messages = await (
        ctx.db.query("messages")
        .with_index("by_channel", lambda q: q.eq("channelId", args["channelId"]))
        .order("desc")
        .take(100)
    )
    users = await asyncio.gather(*(ctx.db.get(m["userId"]) for m in messages))
    return [{**message, "user": user} for message, user in zip(messages, users)]


@query(args={"id": v.id("messages")}, returns=v.union(MESSAGE, v.null()))
async def get(ctx: Any, args: dict[str, Any]) -> Any:
    """One message, or None."""
    return await ctx.db.get(args["id"])


@query(
    args={"channelId": v.id("channels"), "searchTerm": v.string()},
    returns=v.array(MESSAGE),
)
async def search(ctx: Any, args: dict[str, Any]) -> Any:
    """Messages of a channel whose text contains the term (case-insensitive)."""
    messages = await (
        ctx.db.query("messages")
        .with_index("by_channel", lambda q: q.eq("channelId", args["channelId"]))
        .collect()
    )
    term = args["searchTerm"].lower()
    return [m for m in messages if term in m["text"].lower()]


@query(
    args={
        "channelId": v.id("channels"),
        # Accepts everything usePaginatedQuery sends (id, endCursor, ...).
        "paginationOpts": pagination_opts_validator,
    },
    returns=pagination_result_validator(MESSAGE_WITH_USER),
)
async def paginated(ctx: Any, args: dict[str, Any]) -> Any:
    """A page of the channel's messages, newest first, each with its author."""
    result = await (
        ctx.db.query("messages")
        .with_index("by_channel", lambda q: q.eq("channelId", args["channelId"]))
        .order("desc")
        .paginate(args["paginationOpts"])
    )
    users = await asyncio.gather(*(ctx.db.get(m["userId"]) for m in result["page"]))
    return {**result, "page": [{**m, "user": u} for m, u in zip(result["page"], users)]}


@mutation(args={"text": v.string(), "channelId": v.id("channels")}, returns=v.id("messages"))
async def create(ctx: Any, args: dict[str, Any]) -> str:
    """Post a message as the signed-in user."""
    user = await current_user(ctx)
    return await ctx.db.insert(
        "messages",
        {
            "text": args["text"],
            "userId": user["_id"],
            "channelId": args["channelId"],
            "createdAt": time.time() * 1000,
        },
    )


@mutation(args={"id": v.id("messages"), "text": v.string()}, returns=v.null())
async def update(ctx: Any, args: dict[str, Any]) -> None:
    """Edit one's own message."""
    user = await current_user(ctx)
    message = await ctx.db.get(args["id"])
    if message is None:
        raise ConvexError("Message not found")
    if message["userId"] != user["_id"]:
        raise ConvexError("Not authorized")
    await ctx.db.patch(args["id"], {"text": args["text"]})


@mutation(args={"id": v.id("messages")}, returns=v.null())
async def remove(ctx: Any, args: dict[str, Any]) -> None:
    """Delete one's own message."""
    user = await current_user(ctx)
    message = await ctx.db.get(args["id"])
    if message is None:
        raise ConvexError("Message not found")
    if message["userId"] != user["_id"]:
        raise ConvexError("Not authorized")
    await ctx.db.delete(args["id"])


@mutation(args={"messageId": v.id("messages"), "emoji": v.string()}, returns=v.null())
async def addReaction(ctx: Any, args: dict[str, Any]) -> None:
    """Add the signed-in user's reaction to a message."""
    user = await current_user(ctx)
    message = await ctx.db.get(args["messageId"])
    if message is None:
        raise ConvexError("Message not found")
    reactions = message.get("reactions", [])
    reactions.append({"emoji": args["emoji"], "userId": user["_id"]})
    await ctx.db.patch(args["messageId"], {"reactions": reactions})
