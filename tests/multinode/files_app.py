"""File storage functions for the nodes of ``test_files.py`` (module ``files``)."""

from __future__ import annotations

from typing import Any

from pyconvex import mutation, query, v


@mutation
async def generate_upload_url(ctx: Any) -> str:
    """An upload URL of the node that runs this mutation."""
    url: str = await ctx.storage.generate_upload_url()
    return url


@query(args={"storageId": v.string()})
async def get_url(ctx: Any, args: dict[str, Any]) -> str | None:
    """Where the file is served (on the node asked), or None once deleted."""
    url: str | None = await ctx.storage.get_url(args["storageId"])
    return url


@mutation(args={"storageId": v.string()})
async def delete(ctx: Any, args: dict[str, Any]) -> None:
    """Delete the file."""
    await ctx.storage.delete(args["storageId"])
