"""Functions that look at ``ctx.auth``, for the authentication tests."""

from __future__ import annotations

from typing import Any

from pyconvex import (
    ConvexError,
    action,
    http_action,
    http_router,
    internal_query,
    mutation,
    query,
    v,
)


def _plain(identity: Any) -> Any:
    return None if identity is None else dict(identity)


@query
async def whoami(ctx: Any) -> Any:
    """The caller's identity as a plain object, or None."""
    return _plain(await ctx.auth.get_user_identity())


@action
async def whoami_in_action(ctx: Any) -> Any:
    """The identity seen by an action and by the query it calls."""
    own = _plain(await ctx.auth.get_user_identity())
    return {"action": own, "nested": await ctx.run_query("auth:whoami")}


@mutation(args={"text": v.string()})
async def post(ctx: Any, args: dict[str, Any]) -> str:
    """Write a note as the signed-in user."""
    identity = await ctx.auth.get_user_identity()
    if identity is None:
        raise ConvexError("Not authenticated")
    return await ctx.db.insert("notes", {"text": args["text"], "by": identity.token_identifier})


@query
async def notes(ctx: Any) -> list[Any]:
    """Every note: ``[by, text]``."""
    return [[n["by"], n["text"]] for n in await ctx.db.query("notes").collect()]


@internal_query
async def secret(ctx: Any) -> Any:
    """Internal: only the admin may call it (identity included, if acting as a user)."""
    return {"secret": 42, "as": _plain(await ctx.auth.get_user_identity())}


http = http_router()


@http_action
async def whoami_http(ctx: Any, request: Any) -> Any:
    """The identity of an HTTP action's caller, or the error asking for it raised."""
    try:
        return {"identity": _plain(await ctx.auth.get_user_identity())}
    except Exception as error:
        return {"error": str(error)}


http.route(path="/whoami", method="GET", handler=whoami_http)
