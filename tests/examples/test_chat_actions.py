"""The chat example's actions and cron targets, with the outside APIs on loopback.

A local HTTP server plays SendGrid and Anthropic; the example reads their URLs
from the deployment's environment variables, as a self-hoster would set them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pyconvex.database.environment import set_environment_variables
from pyconvex.testing import ConvexTest

APP = Path(__file__).parents[2] / "examples" / "chat" / "convex"


class FakeApis(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeApis.received.append((self.path, dict(self.headers), body))
        if self.path == "/ai":
            title = body["messages"][0]["content"]
            word = "Urgent" if "fire" in title else "routine"
            payload = json.dumps({"content": [{"text": f" {word}\n"}]}).encode()
            self.send_response(200)
        else:
            payload = b""
            self.send_response(
                500 if body["personalizations"][0]["to"][0]["email"] == "bad@x" else 202
            )
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def apis() -> Iterator[str]:
    FakeApis.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApis)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def backend(apis: str) -> AsyncIterator[ConvexTest]:
    async with ConvexTest(modules=APP) as harness:
        set_environment_variables(
            harness.database,
            {
                "EMAIL_API_URL": f"{apis}/email",
                "SENDGRID_API_KEY": "sg-key",
                "AI_API_URL": f"{apis}/ai",
                "ANTHROPIC_API_KEY": "ak-key",
            },
        )
        yield harness


async def test_send_email_calls_the_configured_api(backend: ConvexTest) -> None:
    result = await backend.action("actions:sendEmail", {"to": "a@x", "subject": "Hi", "body": "B"})
    assert result == {"success": True}
    path, headers, body = FakeApis.received[-1]
    assert path == "/email" and headers["Authorization"] == "Bearer sg-key"
    assert body["personalizations"] == [{"to": [{"email": "a@x"}]}] and body["subject"] == "Hi"
    with pytest.raises(RuntimeError, match="Failed to send email"):
        await backend.action("actions:sendEmail", {"to": "bad@x", "subject": "Hi", "body": "B"})


async def test_categorize_pending_tags_every_open_task(backend: ConvexTest) -> None:
    fire = await backend.mutation("tasks:create", {"title": "Put out the fire"})
    dishes = await backend.mutation("tasks:create", {"title": "Do the dishes", "tags": ["home"]})
    done = await backend.mutation("tasks:create", {"title": "Old"})
    await backend.mutation("tasks:update", {"id": done, "status": "done"})
    assert await backend.action("tasks:categorizePending") == 2
    assert (await backend.query("tasks:get", {"id": fire}))["tags"] == ["urgent"]
    assert (await backend.query("tasks:get", {"id": dishes}))["tags"] == ["home", "routine"]
    assert FakeApis.received[-1][1]["x-api-key"] == "ak-key"
    assert await backend.action("tasks:categorizePending") == 0  # all categorized now


async def test_webhook_creates_a_user(backend: ConvexTest) -> None:
    event = {"event": "user.created", "data": {"name": "Grace", "email": "g@x.org"}}
    assert await backend.action("actions:handleWebhook", event) == {"processed": True}
    assert await backend.action("actions:handleWebhook", event) == {"processed": True}

    async def users(ctx: Any) -> list[Any]:
        return await ctx.db.query("users").collect()

    found = await backend.run(users)
    assert [(u["name"], u["tokenIdentifier"]) for u in found] == [("Grace", "email:g@x.org")]


async def test_digest_report_and_cleanup(backend: ConvexTest) -> None:
    async def setup(ctx: Any) -> None:
        await ctx.db.insert(
            "users",
            {
                "name": "Admin",
                "email": "boss@x",
                "tokenIdentifier": "t|1",
                "role": "admin",
                "createdAt": 0,
            },
        )
        for status, updated in (("done", 0.0), ("done", 1e15), ("todo", 0.0)):
            await ctx.db.insert(
                "tasks",
                {
                    "title": status,
                    "status": status,
                    "tags": [],
                    "createdAt": 0,
                    "updatedAt": updated,
                },
            )

    await backend.run(setup)
    assert await backend.action("emails:sendDailyDigest") == 1
    assert "1 open tasks" in FakeApis.received[-1][2]["content"][0]["value"]
    await backend.mutation("reports:generateWeekly")
    report = await backend.query("reports:latest")
    assert report["tasksByStatus"] == {"done": 2.0, "todo": 1.0}
    assert await backend.mutation("tasks:cleanup") == 1  # only the long-done task
    assert len(await backend.query("tasks:list", {"status": "done"})) == 1


async def test_the_weekly_report_can_be_scheduled_on_demand(backend: ConvexTest) -> None:
    job = await backend.mutation("reports:scheduleWeekly", {})
    assert await backend.query("reports:latest") is None  # not before the job runs
    await backend.finish_scheduled_functions()
    assert (await backend.query("reports:latest"))["kind"] == "weekly"

    async def state(ctx: Any) -> Any:
        return (await ctx.db.system.get(job))["state"]

    assert await backend.run(state) == {"kind": "success"}
