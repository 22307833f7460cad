"""The daily digest email (a cron target)."""

import time
from typing import Any

from pyconvex import internal_action, internal_query

from ._generated.api import api, internal

DAY_MS = 24 * 60 * 60 * 1000


@internal_query
async def digest(ctx: Any) -> dict[str, Any]:
    """Who gets the digest, and what it says: messages and open tasks of the last day."""
    since = time.time() * 1000 - DAY_MS
    messages = await ctx.db.query("messages").collect()
    recent = [m for m in messages if m["createdAt"] >= since]
    open_tasks = (
        await ctx.db.query("tasks")
        .with_index("by_status", lambda q: q.eq("status", "todo"))
        .collect()
    )
    admins = await ctx.db.query("users").filter(lambda q: q.eq(q.field("role"), "admin")).collect()
    return {
        "to": [admin["email"] for admin in admins],
        "body": f"{len(recent)} new messages and {len(open_tasks)} open tasks in the last day.",
    }


@internal_action
async def sendDailyDigest(ctx: Any) -> int:
    """Cron target: email the digest to every admin; returns how many emails were sent."""
    digest_ = await ctx.run_query(internal.emails.digest)
    for address in digest_["to"]:
        await ctx.run_action(
            api.actions.sendEmail,
            {"to": address, "subject": "Daily digest", "body": digest_["body"]},
        )
    return len(digest_["to"])
