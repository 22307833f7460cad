"""The chat example app (examples/chat/convex), run through the test kit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pyconvex import ConvexError
from pyconvex.errors import ArgumentValidationError
from pyconvex.testing import ConvexTest

APP = Path(__file__).parents[2] / "examples" / "chat" / "convex"


@pytest.fixture
async def backend() -> AsyncIterator[ConvexTest]:
    async with ConvexTest(modules=APP) as harness:
        yield harness


async def test_a_conversation(backend: ConvexTest) -> None:
    ada = backend.with_identity({"issuer": "https://idp", "subject": "ada"})
    bob = backend.with_identity({"issuer": "https://idp", "subject": "bob"})
    ada_id = await ada.mutation("users:create", {"name": "Ada", "email": "ada@x.org"})
    assert await ada.mutation("users:create", {"name": "Ada", "email": "ada@x.org"}) == ada_id
    await bob.mutation("users:create", {"name": "Bob", "email": "bob@x.org"})
    channel = await ada.mutation("channels:create", {"name": "general"})
    first = await ada.mutation("messages:create", {"text": "Hi Bob", "channelId": channel})
    await bob.mutation("messages:create", {"text": "hi ada", "channelId": channel})
    await asyncio.gather(
        *(bob.mutation("messages:addReaction", {"messageId": first, "emoji": e}) for e in "ab")
    )
    listed = await bob.query("messages:list", {"channelId": channel})
    assert [m["text"] for m in listed] == ["hi ada", "Hi Bob"]
    assert listed[1]["user"]["name"] == "Ada"
    assert sorted(r["emoji"] for r in listed[1]["reactions"]) == ["a", "b"]
    assert [
        m["text"]
        for m in await bob.query("messages:search", {"channelId": channel, "searchTerm": "HI"})
    ] == ["Hi Bob", "hi ada"]
    with pytest.raises(ConvexError, match="Not authorized"):
        await bob.mutation("messages:update", {"id": first, "text": "hacked"})
    await ada.mutation("messages:remove", {"id": first})
    assert await ada.query("messages:get", {"id": first}) is None


async def test_signed_out_callers_and_bad_arguments(backend: ConvexTest) -> None:
    with pytest.raises(ConvexError, match="Not authenticated"):
        await backend.mutation("users:create", {"name": "x", "email": "y"})
    assert await backend.query("users:me") is None
    with pytest.raises(ArgumentValidationError):
        await backend.query("messages:list", {"channelId": "not-an-id"})


async def test_paginated_history(backend: ConvexTest) -> None:
    ada = backend.with_identity({"issuer": "https://idp", "subject": "ada"})
    await ada.mutation("users:create", {"name": "Ada", "email": "ada@x.org"})
    channel = await ada.mutation("channels:create", {"name": "general"})
    for n in range(7):
        await ada.mutation("messages:create", {"text": str(n), "channelId": channel})
    texts, cursor = [], None
    while True:
        page = await ada.query(
            "messages:paginated",
            {"channelId": channel, "paginationOpts": {"numItems": 3, "cursor": cursor}},
        )
        texts += [m["text"] for m in page["page"]]
        cursor = page["continueCursor"]
        if page["isDone"]:
            break
    assert texts == [str(n) for n in reversed(range(7))]
