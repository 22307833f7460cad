"""Verification against a real OpenID provider (npm ``oidc-provider``) on loopback.

Discovery, JWKS, key rotation and a whole authorization-code sign-in with PKCE,
whose ID token pyconvex then accepts, directly and through a running server.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
import uvicorn

from pyconvex.application import Backend
from pyconvex.auth.config import OidcProvider as OidcProviderConfig
from pyconvex.auth.jwks import KeySetCache
from pyconvex.auth.verifier import TokenVerifier
from pyconvex.clock import ManualClock
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence
from tests.server import auth_app

from .oidc_provider import OidcProvider, running_oidc_provider, sign_in

REDIRECT = "http://127.0.0.1:9/callback"  # never contacted: the code is read off the redirect
CLIENT = {"client_id": "convex", "client_secret": "s3cret", "redirect_uris": [REDIRECT]}


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_oidc_provider([CLIENT]) as running:
        yield running


def id_token(provider: OidcProvider, account: str) -> str:
    token: str = sign_in(provider, "convex", "s3cret", REDIRECT, account)["id_token"]
    return token


async def test_a_signed_in_users_id_token_is_accepted(provider: OidcProvider) -> None:
    verifier = TokenVerifier([OidcProviderConfig(provider.issuer, "convex")])
    verified = await verifier.verify(id_token(provider, "ada"))
    identity = verified.identity
    assert identity["tokenIdentifier"] == f"{provider.issuer}|ada"
    assert identity["email"] == "ada@example.com" and identity["emailVerified"] is True
    assert identity["name"] == "Ada"
    assert verified.expires_at > time.time() + 3000
    # Discovery found the keys; the same keys serve the next user.
    await verifier.verify(id_token(provider, "bob"))
    assert verifier.keys.fetches == {
        f"{provider.issuer}/.well-known/openid-configuration": 1,
        f"{provider.issuer}/jwks": 1,
    }


async def test_a_rotated_key_is_fetched_when_a_token_names_it(provider: OidcProvider) -> None:
    clock = ManualClock()
    keys = KeySetCache(clock=clock, min_refetch_seconds=30)
    verifier = TokenVerifier([OidcProviderConfig(provider.issuer, "convex")], keys=keys)
    await verifier.verify(id_token(provider, "ada"))
    new_kid = provider.rotate()
    rotated = id_token(provider, "ada")
    assert jwt.get_unverified_header(rotated)["kid"] == new_kid
    clock.advance(31)
    assert (await verifier.verify(rotated)).identity["subject"] == "ada"
    assert keys.fetches[f"{provider.issuer}/jwks"] == 2


def test_a_running_server_serves_the_signed_in_user(provider: OidcProvider) -> None:
    backend = Backend(
        MemoryPersistence(),
        Registry.from_modules({"auth": auth_app}),
        auth_providers=(OidcProviderConfig(provider.issuer, "convex"),),
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(backend), port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        token = id_token(provider, "cy")
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/mutation",
            json={"path": "auth:post", "args": {"text": "hello"}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.json()["status"] == "success", response.text
        notes = httpx.post(
            f"http://127.0.0.1:{port}/api/query", json={"path": "auth:notes", "args": {}}
        )
        assert notes.json()["value"] == [[f"{provider.issuer}|cy", "hello"]]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        backend.close()
