"""Upload, list, download and delete files.

Files up to ``MAX_INLINE_BYTES`` are stored inside their document; larger ones
are registered by URL. See README.md for what Convex file storage adds.
"""

import time
from typing import Any

from pyconvex import ConvexError, mutation, query, v

# A document holds at most 1 MiB; this leaves room for the metadata.
MAX_INLINE_BYTES = 900 * 1024


@mutation(args={"name": v.string(), "contentType": v.string(), "data": v.bytes()})
async def upload(ctx: Any, args: dict[str, Any]) -> str:
    """Store a small file (up to 900 KiB); returns its id."""
    size = len(args["data"])
    if size > MAX_INLINE_BYTES:
        raise ConvexError(
            f"{args['name']} is {size} bytes; files over {MAX_INLINE_BYTES} bytes are "
            "registered by URL with files:register"
        )
    return await ctx.db.insert(
        "files",
        {
            "name": args["name"],
            "contentType": args["contentType"],
            "size": size,
            "data": args["data"],
            "uploadedAt": time.time() * 1000,
        },
    )


@mutation(
    args={"name": v.string(), "contentType": v.string(), "size": v.number(), "url": v.string()}
)
async def register(ctx: Any, args: dict[str, Any]) -> str:
    """Record a file hosted elsewhere, by URL; returns its id."""
    return await ctx.db.insert("files", {**args, "uploadedAt": time.time() * 1000})


@query
async def list(ctx: Any) -> Any:
    """Every file's metadata, newest first (without the bytes)."""
    files = await ctx.db.query("files").order("desc").collect()
    return [{key: value for key, value in f.items() if key != "data"} for f in files]


@query(args={"id": v.id("files")})
async def download(ctx: Any, args: dict[str, Any]) -> Any:
    """A file with its bytes (or its URL), or None if there is no such file."""
    return await ctx.db.get(args["id"])


@mutation(args={"id": v.id("files")})
async def remove(ctx: Any, args: dict[str, Any]) -> None:
    """Delete a file."""
    if await ctx.db.get(args["id"]) is not None:
        await ctx.db.delete(args["id"])
