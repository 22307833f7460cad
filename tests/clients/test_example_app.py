"""The chat example served by a real server, called through both official HTTP clients."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from convex import ConvexError
from convex.http_client import ConvexHttpClient

from tests.clients.conftest import _free_port

ROOT = Path(__file__).parents[2]
SERVER = """
import sys, uvicorn
from pyconvex.application import Backend
from pyconvex.server.app import create_app
backend = Backend.open(sys.argv[2], data_path=":memory:")
uvicorn.run(create_app(backend), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@pytest.fixture
def example_url() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(ROOT / "examples" / "chat" / "convex")]
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.post(f"{url}/api/query_ts")
            break
        except httpx.ConnectError:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_the_npm_http_client_on_the_example(example_url: str) -> None:
    result = subprocess.run(
        ["node", "example_http.mjs", example_url],
        cwd=ROOT / "tests" / "clients" / "node",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    *logged, last = result.stdout.strip().splitlines()
    out = json.loads(last)
    # The function's print() reached the client as a Convex log line.
    assert "[CONVEX A(actions:handleWebhook)] [LOG] Webhook received: user.created" in logged
    assert isinstance(out["create"]["ok"], str)
    [task] = out["list"]["ok"]
    assert (
        task["title"] == "ship it" and task["status"] == "todo" and task["dueDate"] is None
    )  # NaN
    assert out["webhook"] == {"ok": {"processed": True}}
    assert "ArgumentValidationError" in out["signedOut"]["error"]  # "x" is not a channel id
    assert (
        out["notAuthenticated"]["convexError"]
        and out["notAuthenticated"]["data"] == "Not authenticated"
    )
    assert "ArgumentValidationError" in out["invalid"]["error"]
    assert "Could not find public function for 'tasks:nothing'" in out["unknown"]["error"]
    assert "Could not find public function for 'tasks:uncategorized'" in out["internal"]["error"]
    assert out["consistent"]["ok"] == [1, 1, 2]


def test_the_pypi_http_client_on_the_example(example_url: str) -> None:
    client = ConvexHttpClient(example_url)
    task_id = client.mutation("tasks:create", {"title": "from python", "dueDate": math.nan})
    [task] = client.query("tasks:list", {"status": "todo"})
    assert task["_id"] == task_id and math.isnan(task["dueDate"])
    client.mutation("tasks:update", {"id": task_id, "status": "done"})
    assert client.query("tasks:get", {"id": task_id})["status"] == "done"
    assert client.action("actions:handleWebhook", {"event": "other", "data": None}) == {
        "processed": True
    }
    with pytest.raises(ConvexError) as caught:
        client.mutation("users:create", {"name": "a", "email": "b"})
    assert caught.value.data == "Not authenticated"
    with pytest.raises(Exception, match="ArgumentValidationError"):
        client.query("tasks:get", {"id": "not-an-id"})
