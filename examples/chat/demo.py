"""Run the chat example in-process on its embedded SQLite database.

A user signs up, creates a channel, posts messages, reacts, pages through the
history and sees a concurrent edit conflict resolved by OCC retries. Run it
with ``./scripts/run`` (or ``python examples/chat/demo.py``); the database
lives in ``examples/chat/.pyconvex/`` and grows with each run.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pyconvex.testing import ConvexTest
from pyconvex.values.json import encode_clean_json

HERE = Path(__file__).parent


def show(label: str, value: object) -> None:
    print(f"{label}: {json.dumps(encode_clean_json(value), indent=2)}")


async def main() -> None:
    data = HERE / ".pyconvex"
    data.mkdir(exist_ok=True)
    async with ConvexTest(modules=HERE / "convex", sqlite_path=data / "data.sqlite3") as backend:
        ada = backend.with_identity({"issuer": "https://demo.local", "subject": "ada"})
        await ada.mutation("users:create", {"name": "Ada", "email": "ada@example.com"})
        channels = await ada.query("channels:list")
        channel = (
            channels[0]["_id"]
            if channels
            else await ada.mutation("channels:create", {"name": "general"})
        )
        first = await ada.mutation("messages:create", {"text": "Hello!", "channelId": channel})
        await asyncio.gather(
            *(
                ada.mutation("messages:addReaction", {"messageId": first, "emoji": e})
                for e in "🎉👍🚀"
            )
        )
        for n in range(5):
            await ada.mutation("messages:create", {"text": f"message {n}", "channelId": channel})
        newest = await ada.query("messages:list", {"channelId": channel})
        show("newest message", newest[0])
        page = await ada.query(
            "messages:paginated",
            {"channelId": channel, "paginationOpts": {"numItems": 3, "cursor": None}},
        )
        print(f"first page: {[m['text'] for m in page['page']]} (isDone={page['isDone']})")
        reacted = await ada.query("messages:get", {"id": first})
        print(f"reactions applied exactly once each: {[r['emoji'] for r in reacted['reactions']]}")
        print(f"{len(newest)} messages in #general so far")


if __name__ == "__main__":
    asyncio.run(main())
