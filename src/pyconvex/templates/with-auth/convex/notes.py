"""Notes anyone can read and add; signed-in users also own theirs and may delete them."""

from typing import Any

from pyconvex import ConvexError, mutation, query, v


async def _author(ctx: Any) -> str | None:
    """The caller's stable id (``tokenIdentifier``), or None when signed out."""
    identity = await ctx.auth.get_user_identity()
    return None if identity is None else identity.token_identifier


@query
async def list(ctx: Any) -> Any:
    """The 50 newest notes, each marked ``mine`` when the caller wrote it."""
    author = await _author(ctx)
    notes = await ctx.db.query("notes").order("desc").take(50)
    return [{**note, "mine": author is not None and note.get("author") == author} for note in notes]


@query
async def mine(ctx: Any) -> Any:
    """The caller's own notes; none when signed out."""
    author = await _author(ctx)
    if author is None:
        return []
    return (
        await ctx.db.query("notes")
        .with_index("by_author", lambda q: q.eq("author", author))
        .collect()
    )


@mutation(args={"text": v.string()})
async def add(ctx: Any, args: dict[str, Any]) -> str:
    """Add a note: owned by the caller when signed in, anonymous otherwise."""
    author = await _author(ctx)
    note: dict[str, Any] = {"text": args["text"]}
    if author is not None:
        note["author"] = author
    return await ctx.db.insert("notes", note)


@mutation(args={"id": v.id("notes")})
async def remove(ctx: Any, args: dict[str, Any]) -> None:
    """Delete one of the caller's own notes."""
    author = await _author(ctx)
    if author is None:
        raise ConvexError("Sign in to delete notes")
    note = await ctx.db.get(args["id"])
    if note is None or note.get("author") != author:
        raise ConvexError("You can only delete your own notes")
    await ctx.db.delete(args["id"])
