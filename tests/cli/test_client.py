"""The CLI's admin client: every failure is one clear line (cli/client.py)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from pyconvex.cli.client import AdminClient, DeploymentError, FunctionFailed
from tests.cli.dev_server import free_port

URL = "http://deployment.test"


def client(handler: Callable[[httpx.Request], httpx.Response]) -> AdminClient:
    return AdminClient(URL, "key", transport=httpx.MockTransport(handler))


def answer(status: int, body: object = None, text: str | None = None) -> AdminClient:
    if text is not None:
        return client(lambda request: httpx.Response(status, text=text))
    return client(lambda request: httpx.Response(status, json=body))


def test_sends_the_admin_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    assert client(handler).post("/api/admin/env", {"changes": []}) == {"ok": True}
    assert seen[0].headers["authorization"] == "Convex key"


@pytest.mark.parametrize(
    ("admin", "message"),
    [
        (answer(401, {"code": "MissingAdminKey", "message": "send it"}), "requires an admin key"),
        (answer(403, {"code": "BadDeployKey", "message": "no"}), "admin key was refused"),
        (answer(404, text="Not Found"), "has no /x endpoint"),
        (answer(400, {"code": "BadName", "message": "Bad name 1X"}), r"Bad name 1X \(BadName\)"),
        (answer(502, text="<html>bad gateway</html>"), "failed with HTTP 502"),
        (answer(200, text="<html>hello</html>"), "not JSON"),
    ],
)
def test_failures(admin: AdminClient, message: str) -> None:
    with pytest.raises(DeploymentError, match=message) as caught:
        admin.get("/x")
    assert "\n" not in caught.value.message


def test_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DeploymentError, match="connection refused") as caught:
        AdminClient(url, None).get("/x")
    assert caught.value.status is None


def test_call_function() -> None:
    ok = answer(200, {"status": "success", "value": [1], "logLines": ["[LOG] hi"]})
    result = ok.call_function("a:b", {})
    assert result.value == [1] and result.log_lines == ["[LOG] hi"]

    failed = answer(
        200,
        {
            "status": "error",
            "errorMessage": "[Request ID: 1] Server Error\nUncaught Error: boom",
            "logLines": ["[LOG] before"],
        },
    )
    with pytest.raises(FunctionFailed, match="^Uncaught Error: boom$") as caught:
        failed.call_function("a:b", {})
    assert caught.value.log_lines == ["[LOG] before"]

    data = answer(200, {"status": "error", "errorMessage": "x", "errorData": {"code": 1}})
    with pytest.raises(FunctionFailed, match='ConvexError: {"code": 1}'):
        data.call_function("a:b", {})
