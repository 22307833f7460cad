"""Users: the signed-in user's own record, found by token identifier."""

import time
from typing import Any

from pyconvex import ConvexError, internal_mutation, mutation, query, v

from .schema import schema


async def by_token(ctx: Any, token: str) -> dict[str, Any] | None:
    """The user whose ``tokenIdentifier`` is ``token``, or None."""
    return await (
        ctx.db.query("users")
        .with_index("by_token_identifier", lambda q: q.eq("tokenIdentifier", token))
        .unique()
    )


async def get_or_create(ctx: Any, token: str, name: str, email: str) -> str:
    """The id of the user keyed by ``token``, created with ``name``/``email`` if missing."""
    existing = await by_token(ctx, token)
    if existing is not None:
        return existing["_id"]
    return await ctx.db.insert(
        "users",
        {
            "name": name,
            "email": email,
            "tokenIdentifier": token,
            "role": "user",
            "createdAt": time.time() * 1000,
        },
    )


async def current_user(ctx: Any) -> dict[str, Any]:
    """The signed-in user's document; raises if signed out or unknown."""
    identity = await ctx.auth.get_user_identity()
    if identity is None:
        raise ConvexError("Not authenticated")
    user = await by_token(ctx, identity.token_identifier)
    if user is None:
        raise ConvexError("User not found")
    return user


@mutation(args={"name": v.string(), "email": v.string()}, returns=v.id("users"))
async def create(ctx: Any, args: dict[str, Any]) -> str:
    """Create the signed-in user's record (or return the existing one)."""
    identity = await ctx.auth.get_user_identity()
    if identity is None:
        raise ConvexError("Not authenticated")
    return await get_or_create(ctx, identity.token_identifier, args["name"], args["email"])


@query(returns=v.union(schema.doc("users"), v.null()))
async def me(ctx: Any) -> Any:
    """The signed-in user's record, or None."""
    try:
        return await current_user(ctx)
    except ConvexError:
        return None


@internal_mutation
async def onSignIn(ctx: Any, args: dict[str, Any]) -> str:
    """Built-in sign-in's hook (auth_config.py): the signed-in account's user, made if new."""
    identity = await ctx.auth.get_user_identity()
    email = args.get("email") or ""
    name = args.get("name") or email.split("@")[0] or "anonymous"
    return await get_or_create(ctx, identity.token_identifier, name, email)


@internal_mutation(args={"name": v.string(), "email": v.string()})
async def createFromWebhook(ctx: Any, args: dict[str, Any]) -> str:
    """Create a user announced by a webhook, keyed by email until they sign in."""
    return await get_or_create(ctx, f"email:{args['email']}", args["name"], args["email"])
