"""Users: the signed-in user's own record, found by token identifier."""

import time
from typing import Any

from pyconvex import ConvexError, internal_mutation, mutation, query, v


async def current_user(ctx: Any) -> dict[str, Any]:
    """The signed-in user's document; raises if signed out or unknown."""
    identity = await ctx.auth.get_user_identity()
    if identity is None:
        raise ConvexError("Not authenticated")
    user = await (
        ctx.db.query("users")
        .with_index(
            "by_token_identifier", lambda q: q.eq("tokenIdentifier", identity.token_identifier)
        )
        .unique()
    )
    if user is None:
        raise ConvexError("User not found")
    return user


@mutation(args={"name": v.string(), "email": v.string()})
async def create(ctx: Any, args: dict[str, Any]) -> str:
    """Create the signed-in user's record (or return the existing one)."""
    identity = await ctx.auth.get_user_identity()
    if identity is None:
        raise ConvexError("Not authenticated")
    existing = await (
        ctx.db.query("users")
        .with_index(
            "by_token_identifier", lambda q: q.eq("tokenIdentifier", identity.token_identifier)
        )
        .unique()
    )
    if existing is not None:
        return existing["_id"]
    return await ctx.db.insert(
        "users",
        {
            "name": args["name"],
            "email": args["email"],
            "tokenIdentifier": identity.token_identifier,
            "role": "user",
            "createdAt": time.time() * 1000,
        },
    )


@query
async def me(ctx: Any) -> Any:
    """The signed-in user's record, or None."""
    try:
        return await current_user(ctx)
    except ConvexError:
        return None


@internal_mutation(args={"name": v.string(), "email": v.string()})
async def createFromWebhook(ctx: Any, args: dict[str, Any]) -> str:
    """Create a user announced by a webhook, keyed by email until they sign in."""
    token = f"email:{args['email']}"
    existing = await (
        ctx.db.query("users")
        .with_index("by_token_identifier", lambda q: q.eq("tokenIdentifier", token))
        .unique()
    )
    if existing is not None:
        return existing["_id"]
    return await ctx.db.insert(
        "users",
        {
            "name": args["name"],
            "email": args["email"],
            "tokenIdentifier": token,
            "role": "user",
            "createdAt": time.time() * 1000,
        },
    )
