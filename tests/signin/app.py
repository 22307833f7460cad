"""An app using built-in sign-in: links accounts to its users and "emails" codes to a table."""

from __future__ import annotations

from typing import Any

from pyconvex import internal_action, internal_mutation, query, v


@internal_mutation
async def on_user(ctx: Any, args: dict[str, Any]) -> str:
    """Link the signed-in account to a user of the app's own table (made on first sign-in)."""
    identity = await ctx.auth.get_user_identity()
    existing = await (
        ctx.db.query("users")
        .with_index("by_token", lambda q: q.eq("tokenIdentifier", identity.token_identifier))
        .unique()
    )
    if existing is not None:
        return existing["_id"]
    return await ctx.db.insert(
        "users",
        {
            "tokenIdentifier": identity.token_identifier,
            "email": args["email"] or "",
            "provider": args["provider"],
        },
    )


@internal_action(args={"email": v.string(), "code": v.string(), "kind": v.string()})
async def send_code(ctx: Any, args: dict[str, Any]) -> None:
    """Deliver a code: here, an outbox table the tests read."""
    await ctx.run_mutation("app:record_code", args)


@internal_mutation
async def record_code(ctx: Any, args: dict[str, Any]) -> None:
    await ctx.db.insert("outbox", args)


@query(args={"email": v.string(), "kind": v.string()})
async def last_code(ctx: Any, args: dict[str, Any]) -> Any:
    """The newest code sent to ``email``."""
    sent = [
        m
        for m in await ctx.db.query("outbox").collect()
        if m["email"] == args["email"] and m["kind"] == args["kind"]
    ]
    return sent[-1]["code"] if sent else None


@query
async def me(ctx: Any) -> Any:
    """The caller's identity and user row."""
    identity = await ctx.auth.get_user_identity()
    if identity is None:
        return None
    user = await (
        ctx.db.query("users")
        .with_index("by_token", lambda q: q.eq("tokenIdentifier", identity.token_identifier))
        .unique()
    )
    return {"identity": dict(identity), "user": user}
