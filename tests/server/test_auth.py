"""Who is calling (server/auth.py): tokens over HTTP and over the sync protocol.

A real server on loopback verifies tokens from a real issuer on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect

from pyconvex.application import Backend
from pyconvex.auth.config import OidcProvider
from pyconvex.clock import ManualClock
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence
from tests.auth.issuer import Issuer, bad_tokens, running_issuer

from . import auth_app


@dataclass
class Deployment:
    url: str
    backend: Backend
    issuer: Issuer

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://") + "/api/1.48.0/sync"

    def admin(self, acting_as: dict[str, Any] | None = None) -> dict[str, str]:
        key = self.backend.admin_key or ""
        if acting_as is not None:
            key += ":" + base64.b64encode(json.dumps(acting_as).encode()).decode()
        return {"Authorization": f"Convex {key}"}


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    with running_issuer() as issuer:
        backend = Backend(
            MemoryPersistence(),
            Registry.from_modules({"auth": auth_app}),
            http_router=auth_app.http,
            auth_providers=(OidcProvider(issuer.url, "convex"),),
        )
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(backend), port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        yield Deployment(f"http://127.0.0.1:{port}", backend, issuer)
        server.should_exit = True
        thread.join(timeout=10)
        backend.close()


async def call(
    deployment: Deployment, kind: str, path: str, args: Any = None, headers: Any = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=deployment.url) as http:
        return await http.post(
            f"/api/{kind}", json={"path": path, "args": args or {}}, headers=headers
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- HTTP ---------------------------------------------------------------------


async def test_a_bearer_token_is_the_callers_identity(deployment: Deployment) -> None:
    token = deployment.issuer.token("ada", email="ada@x.org", name="Ada")
    response = await call(deployment, "query", "auth:whoami", headers=bearer(token))
    identity = response.json()["value"]
    assert identity["tokenIdentifier"] == f"{deployment.issuer.url}|ada"
    assert identity["email"] == "ada@x.org" and identity["name"] == "Ada"
    signed_out = await call(deployment, "query", "auth:whoami")
    assert signed_out.json()["value"] is None
    # Actions see it, and pass it on to the functions they call.
    both = await call(deployment, "action", "auth:whoami_in_action", headers=bearer(token))
    assert both.json()["value"]["action"] == both.json()["value"]["nested"] == identity


async def test_every_bad_token_is_refused_over_http(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pyconvex.auth")
    for case, token in bad_tokens(deployment.issuer).items():
        caplog.clear()
        response = await call(deployment, "mutation", "auth:post", {"text": case}, bearer(token))
        assert response.status_code == 401, case
        body = response.json()
        assert body["code"] in {"InvalidAuthHeader", "NoAuthProvider", "Unauthenticated"}, case
        assert "Refused a token" in caplog.text, case
    # Nothing was written as anyone.
    assert (await call(deployment, "query", "auth:notes")).json()["value"] == []


async def test_other_authorization_schemes_are_refused(deployment: Deployment) -> None:
    response = await call(deployment, "query", "auth:whoami", headers={"Authorization": "Basic x"})
    assert response.status_code == 401
    assert response.json() == {
        "code": "InvalidAuthHeader",
        "message": "Header must begin with `bearer `",
    }


async def test_the_admin_may_act_as_a_user_over_http(deployment: Deployment) -> None:
    acting = {"issuer": "https://idp", "subject": "bob", "email": "bob@x.org"}
    response = await call(deployment, "query", "auth:secret", headers=deployment.admin(acting))
    value = response.json()["value"]
    assert value["secret"] == 42
    assert value["as"]["tokenIdentifier"] == "https://idp|bob"
    assert value["as"]["email"] == "bob@x.org"
    plain_admin = await call(deployment, "query", "auth:secret", headers=deployment.admin())
    assert plain_admin.json()["value"] == {"secret": 42, "as": None}
    user = await call(deployment, "query", "auth:secret", headers=bearer(deployment.issuer.token()))
    assert "Could not find public function" in user.json()["errorMessage"]
    bad = await call(deployment, "query", "auth:whoami", headers=deployment.admin({"x": 1}))
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidActingUser"


async def test_http_actions_read_the_token_lazily(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.url) as http:
        good = await http.get("/http/whoami", headers=bearer(deployment.issuer.token("cy")))
        bad = await http.get("/http/whoami", headers=bearer("nonsense"))
        none = await http.get("/http/whoami")
    assert good.json()["identity"]["subject"] == "cy"
    assert bad.status_code == 200 and "Could not parse JWT payload" in bad.json()["error"]
    assert none.json() == {"identity": None}


# -- sync protocol ----------------------------------------------------------


async def receive(socket_: Any, kind: str | None = None) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(socket_.recv(), 10))
        if kind is None or message["type"] == kind:
            return message


async def open_session(deployment: Deployment) -> Any:
    socket_ = await connect(deployment.ws)
    await socket_.send(json.dumps({"type": "Connect", "sessionId": "s", "connectionCount": 0}))
    await socket_.send(
        json.dumps(
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [
                    {"type": "Add", "queryId": 0, "udfPath": "auth:whoami", "args": [{}]}
                ],
            }
        )
    )
    first = await receive(socket_, "Transition")
    assert first["modifications"][0]["value"] is None
    return socket_


def authenticate(base: int, token_type: str, value: str | None = None, **extra: Any) -> str:
    message = {"type": "Authenticate", "baseVersion": base, "tokenType": token_type}
    if value is not None:
        message["value"] = value
    return json.dumps({**message, **extra})


async def test_authenticate_is_confirmed_by_an_identity_bump_and_reruns_queries(
    deployment: Deployment,
) -> None:
    async with await open_session(deployment) as socket_:
        await socket_.send(authenticate(0, "User", deployment.issuer.token("ada")))
        confirmed = await receive(socket_, "Transition")
        assert confirmed["startVersion"]["identity"] == 0
        assert confirmed["endVersion"]["identity"] == 1
        assert confirmed["modifications"][0]["value"]["subject"] == "ada"
        # A refreshed token for someone else: every query reruns under the new identity.
        await socket_.send(authenticate(1, "User", deployment.issuer.token("bob")))
        switched = await receive(socket_, "Transition")
        assert switched["endVersion"]["identity"] == 2
        assert switched["modifications"][0]["value"]["subject"] == "bob"
        await socket_.send(authenticate(2, "None"))
        signed_out = await receive(socket_, "Transition")
        assert signed_out["endVersion"]["identity"] == 3
        assert signed_out["modifications"][0]["value"] is None


async def test_every_bad_token_gets_an_auth_error_and_a_close(deployment: Deployment) -> None:
    for case, token in bad_tokens(deployment.issuer).items():
        async with await open_session(deployment) as socket_:
            await socket_.send(authenticate(0, "User", token))
            refused = await receive(socket_)
            assert refused["type"] == "AuthError", case
            assert refused["baseVersion"] == 0 and refused["authUpdateAttempted"] is True
            with pytest.raises(Exception, match="1000|no close frame|sent 1000"):
                await asyncio.wait_for(socket_.recv(), 10)


async def test_an_expired_session_gets_an_auth_error(deployment: Deployment) -> None:
    clock = ManualClock(time.time_ns())
    deployment.backend.auth.clock = clock
    async with await open_session(deployment) as socket_:
        await socket_.send(authenticate(0, "User", deployment.issuer.token("ada")))
        await receive(socket_, "Transition")
        clock.advance(3601)
        await socket_.send(
            json.dumps(
                {
                    "type": "Mutation",
                    "requestId": 0,
                    "udfPath": "auth:post",
                    "args": [{"text": "late"}],
                }
            )
        )
        expired = await receive(socket_)
        assert expired == {
            "type": "AuthError",
            "error": "Convex token identity expired",
            "baseVersion": 1,
            "authUpdateAttempted": False,
        }
    assert (await call(deployment, "query", "auth:notes")).json()["value"] == []


async def test_the_admin_may_act_as_a_user_over_sync(deployment: Deployment) -> None:
    key = deployment.backend.admin_key
    async with await open_session(deployment) as socket_:
        acting = {"tokenIdentifier": "t|x", "subject": "x", "issuer": "t"}
        await socket_.send(authenticate(0, "Admin", key, impersonating=acting))
        confirmed = await receive(socket_, "Transition")
        assert confirmed["modifications"][0]["value"]["tokenIdentifier"] == "t|x"
    async with await open_session(deployment) as socket_:
        await socket_.send(authenticate(0, "Admin", "wrong-key"))
        refused = await receive(socket_)
        assert refused["type"] == "AuthError" and "admin key" in refused["error"]
