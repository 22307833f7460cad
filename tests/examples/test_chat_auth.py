"""The chat example's messages, served by a real server to callers with real tokens.

Ada and Bob sign in with JWTs from an issuer on loopback, which the example trusts
through ``CLERK_JWT_ISSUER_DOMAIN`` (auth_config.py), as the guide trusts Clerk;
the guide's messages functions (create, update with its ownership check, remove,
addReaction) are called signed in, signed out and as the wrong user.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from pyconvex.application import Backend
from pyconvex.auth.config import OidcProvider
from pyconvex.database.environment import set_environment_variables
from pyconvex.server.app import create_app
from tests.auth.issuer import Issuer, running_issuer

APP = Path(__file__).parents[2] / "examples" / "chat" / "convex"


class Caller:
    """Calls the example's functions over HTTP with a token (or none)."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def post(self, kind: str, path: str, args: dict[str, Any]) -> httpx.Response:
        body = {"path": path, "args": args}
        return httpx.post(f"{self.url}/api/{kind}", json=body, headers=self.headers)

    def __call__(self, kind: str, path: str, **args: Any) -> Any:
        body = self.post(kind, path, args).json()
        if body["status"] == "error":
            return ("error", body.get("errorData", body["errorMessage"]))
        return body["value"]


@pytest.fixture
def chat() -> Iterator[tuple[str, Issuer]]:
    with running_issuer() as issuer:
        backend = Backend.open(APP, data_path=":memory:")
        assert OidcProvider(issuer.url, "convex") not in backend.auth.providers
        # Trusted the way the guide trusts Clerk: auth_config.py reads the deployment's
        # CLERK_JWT_ISSUER_DOMAIN when the app loads (a push, here a reload).
        set_environment_variables(backend.database, {"CLERK_JWT_ISSUER_DOMAIN": issuer.url})
        backend.reload()
        assert OidcProvider(issuer.url, "convex") in backend.auth.providers
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(backend), port=port, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}", issuer
        server.should_exit = True
        thread.join(timeout=10)
        backend.close()


def test_messages_signed_in_signed_out_and_as_the_wrong_user(chat: tuple[str, Issuer]) -> None:
    url, issuer = chat
    ada = Caller(url, issuer.token("ada", email="ada@x.org"))
    bob = Caller(url, issuer.token("bob"))
    nobody = Caller(url, None)
    ada_id = ada("mutation", "users:create", name="Ada", email="ada@x.org")
    bob("mutation", "users:create", name="Bob", email="bob@x.org")
    assert ada("query", "users:me")["tokenIdentifier"] == f"{issuer.url}|ada"
    assert nobody("query", "users:me") is None
    channel = ada("mutation", "channels:create", name="general")

    # create: signed in only.
    first = ada("mutation", "messages:create", text="Hi Bob", channelId=channel)
    assert nobody("mutation", "messages:create", text="x", channelId=channel) == (
        "error",
        "Not authenticated",
    )
    listed = nobody("query", "messages:list", channelId=channel)
    assert [(m["text"], m["userId"]) for m in listed] == [("Hi Bob", ada_id)]

    # update: only the author.
    assert bob("mutation", "messages:update", id=first, text="hacked") == (
        "error",
        "Not authorized",
    )
    assert nobody("mutation", "messages:update", id=first, text="hacked") == (
        "error",
        "Not authenticated",
    )
    ada("mutation", "messages:update", id=first, text="Hi Bob!")

    # addReaction: anyone signed in, recorded as who they are.
    bob("mutation", "messages:addReaction", messageId=first, emoji="+1")
    assert nobody("mutation", "messages:addReaction", messageId=first, emoji="x") == (
        "error",
        "Not authenticated",
    )
    message = ada("query", "messages:get", id=first)
    assert message["text"] == "Hi Bob!"
    assert [r["emoji"] for r in message["reactions"]] == ["+1"]
    assert message["reactions"][0]["userId"] != ada_id

    # remove: only the author.
    assert bob("mutation", "messages:remove", id=first) == ("error", "Not authorized")
    assert nobody("mutation", "messages:remove", id=first) == ("error", "Not authenticated")
    ada("mutation", "messages:remove", id=first)
    assert ada("query", "messages:get", id=first) is None


def test_a_signed_in_stranger_without_a_user_record(chat: tuple[str, Issuer]) -> None:
    url, issuer = chat
    ada = Caller(url, issuer.token("ada"))
    ada("mutation", "users:create", name="Ada", email="ada@x.org")
    channel = ada("mutation", "channels:create", name="general")
    stranger = Caller(url, issuer.token("eve"))
    assert stranger("mutation", "messages:create", text="x", channelId=channel) == (
        "error",
        "User not found",
    )
    forged = Caller(url, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEifQ.")
    response = forged.post("mutation", "messages:create", {"text": "x", "channelId": channel})
    assert response.status_code == 401
    assert ada("query", "messages:list", channelId=channel) == []
