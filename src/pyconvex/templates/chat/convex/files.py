"""The guide's file functions: upload URL, save the reference, get a serving URL."""

import time
from typing import Any

from pyconvex import mutation, query, v

from .schema import schema


@mutation(returns=v.string())
async def generateUploadUrl(ctx: Any) -> str:
    """A URL the browser POSTs the file to (valid for an hour, used once)."""
    return await ctx.storage.generate_upload_url()


@mutation(
    args={"storageId": v.id("_storage"), "name": v.string(), "type": v.string()},
    returns=v.id("files"),
)
async def save(ctx: Any, args: dict[str, Any]) -> str:
    """Record an uploaded file under its name."""
    return await ctx.db.insert(
        "files",
        {
            "storageId": args["storageId"],
            "name": args["name"],
            "type": args["type"],
            "uploadedAt": time.time() * 1000,
        },
    )


@mutation(args={"storageId": v.id("_storage")}, returns=v.union(v.string(), v.null()))
async def getUrl(ctx: Any, args: dict[str, Any]) -> Any:
    """The URL serving a stored file (None once it is deleted)."""
    return await ctx.storage.get_url(args["storageId"])


@query(returns=v.array(schema.doc("files").extend({"url": v.union(v.string(), v.null())})))
async def list(ctx: Any) -> Any:
    """Every saved file with its serving URL, newest first."""
    files = await ctx.db.query("files").order("desc").collect()
    return [{**f, "url": await ctx.storage.get_url(f["storageId"])} for f in files]


@mutation(args={"id": v.id("files")}, returns=v.null())
async def remove(ctx: Any, args: dict[str, Any]) -> None:
    """Delete a saved file and its bytes."""
    saved = await ctx.db.get(args["id"])
    if saved is not None:
        await ctx.storage.delete(saved["storageId"])
        await ctx.db.delete(args["id"])
