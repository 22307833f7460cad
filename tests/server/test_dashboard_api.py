"""The dashboard's admin API (server/dashboard_api.py), over HTTP against a real backend."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from pyconvex import cron_jobs
from pyconvex.application import Backend
from pyconvex.database.schema import define_schema, define_table
from pyconvex.functions.http_router import http_action, http_router
from pyconvex.functions.registry import FunctionKind, Registry
from pyconvex.server.app import create_app
from pyconvex.signin.config import OAuthProviderConfig, SignInConfig
from pyconvex.signin.store import SECRET_FIELDS
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.values.json import encode_json
from pyconvex.values.model import Int64
from pyconvex.values.validators import v
from tests.functions import scheduler_app
from tests.functions.scheduler_harness import START_MS, Deployment

from . import api_app

SCHEMA = define_schema(
    {
        "tasks": define_table({"title": v.string(), "rank": v.optional(v.int64())}).index(
            "by_title", ["title"]
        ),
    }
)


@http_action
async def ping(ctx: Any, request: Any) -> Any:
    return None


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    router = http_router()
    router.route(path="/ping", method="GET", handler=ping)
    backend = Backend(
        MemoryPersistence(),
        Registry.from_modules({"api": api_app}),
        SCHEMA,
        http_router=router,
    )
    yield backend
    backend.close()


@pytest.fixture
async def client(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(backend))
    assert backend.admin_key is not None
    headers = {"Authorization": f"Convex {backend.admin_key}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=headers
    ) as http:
        yield http


ENDPOINTS = [
    ("GET", "/api/admin/tables"),
    ("GET", "/api/admin/tables/tasks/documents"),
    ("POST", "/api/admin/tables/tasks/documents"),
    ("GET", "/api/admin/documents/x"),
    ("PATCH", "/api/admin/documents/x"),
    ("PUT", "/api/admin/documents/x"),
    ("DELETE", "/api/admin/documents/x"),
    ("GET", "/api/admin/changes"),
    ("GET", "/api/admin/functions"),
    ("GET", "/api/admin/storage"),
    ("POST", "/api/admin/storage"),
    ("DELETE", "/api/admin/storage/x"),
    ("POST", "/api/admin/scheduled_functions/x/cancel"),
    ("GET", "/api/admin/cron_jobs"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_every_endpoint_requires_the_admin_key(
    backend: Backend, method: str, path: str
) -> None:
    transport = httpx.ASGITransport(app=create_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as anonymous:
        missing = await anonymous.request(method, path)
        assert missing.status_code == 401 and missing.json()["code"] == "MissingAdminKey"
        wrong = await anonymous.request(method, path, headers={"Authorization": "Convex nope"})
        assert wrong.status_code == 403 and wrong.json()["code"] == "BadDeployKey"


async def insert(client: httpx.AsyncClient, table: str, value: dict[str, Any]) -> str:
    answer = await client.post(f"/api/admin/tables/{table}/documents", json={"value": value})
    assert answer.status_code == 200, answer.text
    document_id: str = answer.json()["id"]
    return document_id


async def test_tables_with_counts_indexes_and_the_schema(client: httpx.AsyncClient) -> None:
    await insert(client, "tasks", {"title": "a"})
    body = (await client.get("/api/admin/tables")).json()
    [tasks] = body["tables"]
    assert tasks["name"] == "tasks" and tasks["count"] == 1
    assert [i["name"] for i in tasks["indexes"]] == ["by_creation_time", "by_title"]
    assert body["schema"]["tables"][0]["tableName"] == "tasks"
    listed = (await client.get("/api/admin/tables?system=1")).json()["tables"]
    assert {"_storage", "_scheduled_functions", "_auth_accounts"} <= {t["name"] for t in listed}
    # User tables first, then the system tables (each flagged), whatever their names sort as.
    assert listed[0]["name"] == "tasks" and listed[0]["system"] is False
    assert all(t["system"] for t in listed[1:])


async def test_documents_page_by_index_with_cursor_and_filters(client: httpx.AsyncClient) -> None:
    for title in ("b", "a", "c"):
        await insert(client, "tasks", {"title": title, "rank": encode_json(Int64(len(title)))})
    first = (
        await client.get(
            "/api/admin/tables/tasks/documents",
            params={"index": "by_title", "order": "asc", "numItems": 2},
        )
    ).json()
    assert [d["title"] for d in first["page"]] == ["a", "b"]
    assert first["page"][0]["rank"] == {"$integer": "AQAAAAAAAAA="}  # int64 stays int64
    assert isinstance(first["ts"], str) and not first["isDone"]
    rest = (
        await client.get(
            "/api/admin/tables/tasks/documents",
            params={"index": "by_title", "order": "asc", "cursor": first["continueCursor"]},
        )
    ).json()
    assert [d["title"] for d in rest["page"]] == ["c"] and rest["isDone"]
    filters = json.dumps([{"field": "title", "op": "neq", "value": "b"}])
    filtered = (
        await client.get("/api/admin/tables/tasks/documents", params={"filters": filters})
    ).json()
    assert [d["title"] for d in filtered["page"]] == ["c", "a"]  # newest first by default


async def test_bad_page_requests_are_refused_with_a_code(client: httpx.AsyncClient) -> None:
    url = "/api/admin/tables/tasks/documents"
    cases = [
        ({"index": "by_nothing"}, "InvalidQuery"),
        ({"order": "sideways"}, "BadRequest"),
        ({"numItems": "0"}, "BadRequest"),
        ({"filters": "not json"}, "BadRequest"),
        ({"filters": json.dumps([{"field": "title", "op": "like", "value": "x"}])}, "InvalidQuery"),
        ({"cursor": "garbage"}, "InvalidCursor"),
    ]
    for params, code in cases:
        answer = await client.get(url, params=params)
        assert answer.status_code == 400 and answer.json()["code"] == code, params


async def test_a_document_that_breaks_the_schema_is_a_convex_style_error(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/api/admin/tables/tasks/documents", json={"value": {"title": 3}})
    assert answer.status_code == 400
    error = answer.json()
    assert error["code"] == "SchemaValidationError"
    assert error["message"].startswith(
        'Failed to insert or update a document in table "tasks" because it does not match the '
        "schema"
    )
    not_a_document = await client.post("/api/admin/tables/tasks/documents", json={"value": 3})
    assert not_a_document.status_code == 400 and not_a_document.json()["code"] == "BadJsonBody"


async def test_read_patch_replace_and_delete_a_document(client: httpx.AsyncClient) -> None:
    task = await insert(client, "tasks", {"title": "a"})
    url = f"/api/admin/documents/{task}"
    assert (await client.get(url)).json()["document"]["title"] == "a"
    patched = await client.patch(url, json={"value": {"rank": {"$integer": "AgAAAAAAAAA="}}})
    assert patched.json()["document"]["rank"] == {"$integer": "AgAAAAAAAAA="}
    refused = await client.patch(url, json={"value": {"rank": 2.5}})
    assert refused.status_code == 400 and refused.json()["code"] == "SchemaValidationError"
    replaced = (await client.put(url, json={"value": {"title": "b"}})).json()["document"]
    assert replaced["title"] == "b" and "rank" not in replaced and replaced["_id"] == task
    assert (await client.delete(url)).json() == {"document": None}
    assert (await client.get(url)).json() == {"document": None}
    again = await client.delete(url)
    assert again.status_code == 400 and "nonexistent document" in again.json()["message"]


async def test_changes_long_poll_wakes_on_a_write_to_the_table(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/api/admin/tables/tasks/documents")).json()
    since = page["ts"]
    idle = (await client.get("/api/admin/changes", params={"since": since})).json()
    assert idle == {"ts": since, "tables": []}
    waiting = asyncio.create_task(
        client.get("/api/admin/changes", params={"since": since, "tables": "tasks", "wait": 10})
    )
    await insert(client, "tasks", {"title": "new"})
    answer = (await asyncio.wait_for(waiting, 5)).json()
    assert answer["tables"] == ["tasks"] and int(answer["ts"]) > int(since)
    bad = await client.get("/api/admin/changes", params={"since": "yesterday"})
    assert bad.status_code == 400


async def test_functions_with_kinds_visibility_and_validators(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/admin/functions")).json()
    functions = {f["path"]: f for f in body["functions"]}
    assert functions["api:double"] == {
        "path": "api:double",
        "kind": "query",
        "visibility": "public",
        "args": {
            "type": "object",
            "value": {"n": {"fieldType": {"type": "bigint"}, "optional": False}},
        },
        "returns": None,
    }
    assert functions["api:hidden"]["visibility"] == "internal"
    assert functions["api:add_twice"]["kind"] == "action"
    assert functions["api:echo"]["args"] is None
    assert body["httpRoutes"] == [{"method": "GET", "path": "/ping"}]


async def test_running_internal_functions_returns_value_and_log_lines(
    client: httpx.AsyncClient,
) -> None:
    # The dashboard runs functions through /api/function with the admin key.
    hidden = await client.post("/api/function", json={"path": "api:hidden", "args": {}})
    assert hidden.json()["value"] == "secret"
    chatty = await client.post(
        "/api/function",
        json={"path": "api:chatty", "args": {"text": "hi"}, "format": "convex_encoded_json"},
    )
    body = chatty.json()
    assert body["status"] == "success"
    assert "[LOG] saving hi 3" in body["logLines"]


async def test_files_upload_list_serve_and_delete(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    uploaded = await client.post(
        "/api/admin/storage", content=b"hello", headers={"Content-Type": "text/plain"}
    )
    storage_id = uploaded.json()["storageId"]
    [row] = (await client.get("/api/admin/storage")).json()["page"]
    assert row["_id"] == storage_id and row["contentType"] == "text/plain"
    assert row["size"] == 5.0 and row["url"].endswith(f"/api/storage/{storage_id}")
    served = await client.get(f"/api/storage/{storage_id}")
    assert served.content == b"hello" and served.headers["content-type"].startswith("text/plain")
    assert (await client.delete(f"/api/admin/storage/{storage_id}")).json() == {
        "deleted": storage_id
    }
    assert (await client.get("/api/admin/storage")).json()["page"] == []
    assert (await client.get(f"/api/storage/{storage_id}")).status_code == 404
    gone = await client.delete(f"/api/admin/storage/{storage_id}")
    assert gone.status_code == 404 and gone.json()["code"] == "FileNotFound"


# -- the scheduler ----------------------------------------------------------------------


def admin_client(backend: Backend) -> httpx.AsyncClient:
    assert backend.admin_key is not None
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(backend)),
        base_url="http://test",
        headers={"Authorization": f"Convex {backend.admin_key}"},
    )


@pytest.fixture
async def jobs() -> AsyncIterator[Deployment]:
    """A deployment of the scheduler tests' app on a manual clock."""
    crons = cron_jobs()
    crons.interval("tick", {"minutes": 5}, "jobs:record", {"text": "tick"})
    crons.daily("morning", {"hourUTC": 9, "minuteUTC": 30}, "jobs:fail", {"text": "coffee"})
    app = Deployment({"jobs": scheduler_app}, crons=crons)
    yield app
    app.close()


async def run(client: httpx.AsyncClient, path: str, args: dict[str, Any]) -> Any:
    answer = (await client.post("/api/function", json={"path": path, "args": args})).json()
    assert answer["status"] == "success", answer
    return answer["value"]


PENDING = json.dumps([{"field": "state.kind", "op": "eq", "value": "pending"}])


async def test_pending_jobs_are_listed_in_time_order_and_canceled_by_the_scheduler(
    jobs: Deployment,
) -> None:
    async with admin_client(jobs.backend) as client:
        # Real jobs: a mutation of the app schedules them (run as the admin, like the dashboard).
        later = await run(client, "jobs:after", {"delay": 120_000, "text": "later"})
        sooner = await run(client, "jobs:after", {"delay": 60_000, "text": "sooner"})
        listed = await client.get(
            "/api/admin/tables/_scheduled_functions/documents",
            params={"index": "by_state_scheduled_time", "order": "asc", "filters": PENDING},
        )
        assert [row["_id"] for row in listed.json()["page"]] == [sooner, later]
        canceled = (await client.post(f"/api/admin/scheduled_functions/{later}/cancel")).json()
        assert canceled["job"]["state"] == {"kind": "canceled"}
        assert canceled["job"]["completedTime"] == jobs.now_ms
        await jobs.advance(300)
        texts = await jobs.query("jobs:texts")
        assert "sooner" in texts and "later" not in texts  # the canceled job never ran
        # Canceling a finished job leaves it as it is, as ctx.scheduler.cancel does.
        done = (await client.post(f"/api/admin/scheduled_functions/{sooner}/cancel")).json()
        assert done["job"]["state"] == {"kind": "success"}
        again = (await client.post(f"/api/admin/scheduled_functions/{later}/cancel")).json()
        assert again["job"] == canceled["job"]
        assert (
            await client.get(
                "/api/admin/tables/_scheduled_functions/documents",
                params={"index": "by_state_scheduled_time", "filters": PENDING},
            )
        ).json()["page"] == []
        [log_row, *_] = await jobs.query("jobs:log_ids")  # a document, but not a job
        for missing in ("nope", log_row):
            answer = await client.post(f"/api/admin/scheduled_functions/{missing}/cancel")
            assert answer.status_code == 404
            assert answer.json()["code"] == "ScheduledFunctionNotFound"


async def test_canceling_a_running_action_lets_it_finish_and_cancels_what_it_schedules(
    jobs: Deployment,
) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(ctx: Any) -> str:
        started.set()
        release.wait(30)
        child: str = ctx.scheduler.run_after(0, "jobs:record", {"text": "child"})
        return child

    jobs.add("slow:run", FunctionKind.ACTION, slow)
    job = await jobs.mutation("jobs:schedule", {"name": "slow:run", "args": {}})
    assert await asyncio.to_thread(started.wait, 10)
    async with admin_client(jobs.backend) as client:
        running = await client.get(f"/api/admin/documents/{job}")
        assert running.json()["document"]["state"] == {"kind": "inProgress"}
        canceled = (await client.post(f"/api/admin/scheduled_functions/{job}/cancel")).json()
        assert canceled["job"]["state"] == {"kind": "canceled"}
    release.set()
    await jobs.scheduler.idle()
    rows = {row["name"]: row for row in await jobs.query("jobs:jobs")}
    assert rows["slow:run"]["state"] == {"kind": "canceled"}  # its end did not overwrite it
    assert rows["jobs:record"]["state"] == {"kind": "canceled"}  # created canceled
    assert "child" not in await jobs.query("jobs:texts")


async def test_cron_jobs_with_their_schedule_next_and_last_run(jobs: Deployment) -> None:
    await jobs.scheduler.idle()  # the interval runs once when deployed
    await jobs.advance(10 * 3600)  # 10:00 UTC: the morning job ran (and failed)
    async with admin_client(jobs.backend) as client:
        body = (await client.get("/api/admin/cron_jobs")).json()
    assert isinstance(body["ts"], str)
    morning, tick = body["cronJobs"]  # by name
    assert tick["name"] == "tick" and tick["schedule"] == "every 5 minutes"
    assert tick["function"] == "jobs:record" and tick["args"] == [{"text": "tick"}]
    assert tick["spec"] == {"type": "interval", "minutes": 5.0}
    assert tick["lastRun"] == jobs.now_ms and tick["nextRun"] == jobs.now_ms + 5 * 60_000
    assert tick["lastResult"] == {"kind": "success", "value": "tick"}
    assert tick["state"] == {"kind": "pending"}
    assert morning["schedule"] == "daily at 09:30 UTC"
    assert morning["nextRun"] == START_MS + (24 + 9.5) * 3600 * 1000
    assert morning["lastResult"] == {"kind": "failed", "error": "Uncaught ConvexError: no coffee"}


# -- system tables and their secrets ----------------------------------------------------


async def test_system_tables_are_readable_but_their_secrets_never_leave() -> None:
    github = OAuthProviderConfig("github", preset="github", client_id="id", client_secret="shh")
    backend = Backend(
        MemoryPersistence(),
        Registry(),
        url="http://test",
        sign_in=SignInConfig(password=True, oauth=(github,), redirect_urls=("http://app.test",)),
    )
    try:
        async with admin_client(backend) as client:
            # Every kind of sign-in row, made the way users make them.
            signed_up = await client.post(
                "/api/auth/signup", json={"email": "ada@example.com", "password": "correct horse"}
            )
            tokens = signed_up.json()
            refreshed = await client.post(
                "/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]}
            )
            assert refreshed.status_code == 200  # the session now has a previousHash too
            started = await client.get(
                "/api/auth/oauth/github/start", params={"redirectTo": "http://app.test/back"}
            )
            assert started.status_code in (302, 307)
            snapshot = backend.database.begin(writable=False)
            [account] = [r for r in _rows(snapshot, "_auth_accounts")]
            await backend.signin.login_code(account)

            snapshot = backend.database.begin(writable=False)
            secrets = {
                str(row[name])
                for table, names in SECRET_FIELDS.items()
                for row in _rows(snapshot, table)
                for name in names
                if name in row
            }
            assert len(secrets) == 6  # password, 2 session hashes, code, OAuth state and verifier
            signing_keys = backend.persistence.get_global("auth_signing_keys")
            assert signing_keys is not None

            seen: list[str] = [(await client.get("/api/admin/tables?system=1")).text]
            for table, names in SECRET_FIELDS.items():
                page = await client.get(f"/api/admin/tables/{table}/documents")
                seen.append(page.text)
                [row] = page.json()["page"]
                assert all(row[name] == "[redacted]" for name in names if name in row), table
                one = await client.get(f"/api/admin/documents/{row['_id']}")
                seen.append(one.text)
                assert one.json()["document"] == row
                for name in names:  # nor can they be guessed by filtering
                    guess = json.dumps([{"field": name, "op": "eq", "value": "x"}])
                    refused = await client.get(
                        f"/api/admin/tables/{table}/documents", params={"filters": guess}
                    )
                    assert refused.status_code == 400 and "secret" in refused.json()["message"]
            # Nor sorted by: a page's cursor carries the index key of its last row.
            by_state = await client.get(
                "/api/admin/tables/_auth_oauth_states/documents", params={"index": "by_state"}
            )
            assert by_state.status_code == 400 and "cannot be sorted by" in by_state.text
            assert '"email":"ada@example.com"' in seen[1]  # the rest of a row is shown
            everything = "".join(seen)
            for secret in secrets:
                assert secret not in everything
            assert "PRIVATE KEY" not in everything and backend.admin_key not in everything
    finally:
        backend.close()


def _rows(snapshot: Any, table: str) -> list[dict[str, Any]]:
    from pyconvex.database.query import QueryInitializer

    rows: list[dict[str, Any]] = QueryInitializer(snapshot, table, sync=True).collect()
    return rows
