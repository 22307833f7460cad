"""Channels."""

import time
from typing import Any

from pyconvex import mutation, query, v

from .schema import schema
from .users import current_user


@mutation(
    args={"name": v.string(), "description": v.optional(v.string())}, returns=v.id("channels")
)
async def create(ctx: Any, args: dict[str, Any]) -> str:
    """Create a public channel with the caller as its first member."""
    user = await current_user(ctx)
    return await ctx.db.insert(
        "channels",
        {
            **args,
            "isPrivate": False,
            "memberIds": [user["_id"]],
            "createdAt": time.time() * 1000,
        },
    )


@query(returns=v.array(schema.doc("channels")))
async def list(ctx: Any) -> Any:
    """Every channel, by name."""
    return await ctx.db.query("channels").with_index("by_name").collect()
