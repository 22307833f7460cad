"""Upload, list, serve and delete files, as in Convex's file storage guide.

The browser asks for an upload URL, POSTs the file to it, and saves the storage
id it gets back; files are served from the URLs ``ctx.storage.get_url`` returns.
"""

import time
from typing import Any

from pyconvex import action, mutation, query, v

from ._generated.api import api


@mutation
async def generateUploadUrl(ctx: Any) -> str:
    """A URL to POST one file to (valid for an hour)."""
    return await ctx.storage.generate_upload_url()


@mutation(args={"storageId": v.id("_storage"), "name": v.string(), "type": v.string()})
async def save(ctx: Any, args: dict[str, Any]) -> str:
    """Record an uploaded file under its name; returns the file's id."""
    return await ctx.db.insert("files", {**args, "uploadedAt": time.time() * 1000})


@query
async def list(ctx: Any) -> Any:
    """Every saved file with its URL and size, newest first."""
    files = await ctx.db.query("files").order("desc").collect()
    out = []
    for saved in files:
        stored = await ctx.db.system.get(saved["storageId"])
        url = await ctx.storage.get_url(saved["storageId"])
        out.append({**saved, "url": url, "size": stored["size"] if stored else None})
    return out


@action(args={"name": v.string(), "text": v.string()})
async def storeText(ctx: Any, args: dict[str, Any]) -> str:
    """Store a text file from the server side (actions may write files directly)."""
    storage_id = await ctx.storage.store(args["text"].encode(), "text/plain")
    return await ctx.run_mutation(
        api.files.save, {"storageId": storage_id, "name": args["name"], "type": "text/plain"}
    )


@mutation(args={"id": v.id("files")})
async def remove(ctx: Any, args: dict[str, Any]) -> None:
    """Delete a saved file and its bytes."""
    saved = await ctx.db.get(args["id"])
    if saved is not None:
        await ctx.storage.delete(saved["storageId"])
        await ctx.db.delete(args["id"])
