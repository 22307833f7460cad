"""Who is calling: ``ctx.auth.get_user_identity()`` is None when signed out."""

from typing import Any

from pyconvex import query


@query
async def viewer(ctx: Any) -> Any:
    """The caller's identity claims (``subject``, ``email``, ...), or None when signed out."""
    identity = await ctx.auth.get_user_identity()
    return None if identity is None else dict(identity)
