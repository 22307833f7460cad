"""OAuth / OpenID sign-in (signin/oauth.py) against a real OpenID provider on loopback.

A browser (httpx with cookies) starts at the deployment, signs in at
``oidc-provider``, comes back through the deployment's callback to the app with
a one-time code, which the app trades for tokens. Accounts link by verified email.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn

from pyconvex.application import Backend
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.signin.config import OAuthProviderConfig, SignInConfig
from pyconvex.signin.oauth import PRESETS
from pyconvex.storage.memory import MemoryPersistence
from tests.auth.oidc_provider import follow_sign_in, running_oidc_provider
from tests.server.test_signin import SCHEMA
from tests.signin import app

APP_URL = "http://app.example/signed-in"


@dataclass
class Setup:
    url: str
    backend: Backend

    def sign_in(self, account: str, redirect_to: str = APP_URL) -> httpx.Response:
        """Go through the whole sign-in as a browser; the redirect back to the app."""
        start = f"{self.url}/api/auth/oauth/corp/start?{urlencode({'redirectTo': redirect_to})}"
        with httpx.Client() as browser:
            return follow_sign_in(browser, start, account, stop_at=APP_URL)

    def tokens(self, account: str) -> dict[str, Any]:
        back = self.sign_in(account)
        code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
        response = httpx.post(f"{self.url}/api/auth/exchange", json={"code": code})
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    def me(self, token: str) -> Any:
        response = httpx.post(
            f"{self.url}/api/query",
            json={"path": "app:me", "args": {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()["value"]


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    client = {
        "client_id": "pyconvex-app",
        "client_secret": "s3cret",
        "redirect_uris": [f"{url}/api/auth/oauth/corp/callback"],
    }
    with running_oidc_provider([client]) as provider:
        config = SignInConfig(
            password=True,
            on_user="app:on_user",
            send_code="app:send_code",
            oauth=(
                OAuthProviderConfig(
                    "corp", issuer=provider.issuer, client_id="pyconvex-app", client_secret="s3cret"
                ),
            ),
            redirect_urls=("http://app.example",),
        )
        backend = Backend(
            MemoryPersistence(),
            Registry.from_modules({"app": app}),
            SCHEMA,
            url=url,
            sign_in=config,
        )
        server = uvicorn.Server(uvicorn.Config(create_app(backend), port=port, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        yield Setup(url, backend)
        server.should_exit = True
        thread.join(timeout=10)
        backend.close()


def test_an_openid_sign_in_from_start_to_tokens(setup: Setup) -> None:
    tokens = setup.tokens("ada")
    seen = setup.me(tokens["token"])
    identity = seen["identity"]
    assert identity["issuer"] == setup.url  # the deployment's own token, for the provider's user
    assert identity["email"] == "ada@example.com" and identity["emailVerified"] is True
    assert identity["name"] == "Ada"
    assert seen["user"]["provider"] == "corp"
    # Signing in again is the same account and the same user.
    assert setup.me(setup.tokens("ada")["token"])["user"]["_id"] == seen["user"]["_id"]
    refreshed = httpx.post(
        f"{setup.url}/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]}
    )
    assert refreshed.status_code == 200


def test_accounts_link_by_verified_email_only(setup: Setup) -> None:
    def sign_up(email: str) -> dict[str, Any]:
        response = httpx.post(
            f"{setup.url}/api/auth/signup", json={"email": email, "password": "correct horse"}
        )
        tokens: dict[str, Any] = response.json()
        return tokens

    def verify(email: str) -> None:
        code = httpx.post(
            f"{setup.url}/api/query",
            json={"path": "app:last_code", "args": {"email": email, "kind": "verify"}},
        ).json()["value"]
        response = httpx.post(
            f"{setup.url}/api/auth/verify-email", json={"email": email, "code": code}
        )
        assert response.status_code == 200

    # bob's password account has a verified email; the provider vouches for it too: linked.
    bob_password = sign_up("bob@example.com")
    verify("bob@example.com")
    bob_oauth = setup.tokens("bob")
    assert (
        setup.me(bob_oauth["token"])["identity"]["tokenIdentifier"]
        == setup.me(bob_password["token"])["identity"]["tokenIdentifier"]
    )
    # The provider does not vouch for this one's email: a separate user.
    cy_password = sign_up("unverified-cy@example.com")
    verify("unverified-cy@example.com")
    cy_oauth = setup.tokens("unverified-cy")
    assert (
        setup.me(cy_oauth["token"])["identity"]["tokenIdentifier"]
        != setup.me(cy_password["token"])["identity"]["tokenIdentifier"]
    )
    # An unverified password account is not linked to either.
    dee_password = sign_up("dee@example.com")
    dee_oauth = setup.tokens("dee")
    assert (
        setup.me(dee_oauth["token"])["identity"]["tokenIdentifier"]
        != setup.me(dee_password["token"])["identity"]["tokenIdentifier"]
    )


def test_states_codes_and_redirects_are_checked(setup: Setup) -> None:
    back = setup.sign_in("eve")
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    assert httpx.post(f"{setup.url}/api/auth/exchange", json={"code": code}).status_code == 200
    reused = httpx.post(f"{setup.url}/api/auth/exchange", json={"code": code})
    assert reused.status_code == 400 and reused.json()["code"] == "InvalidCode"
    forged_state = httpx.get(
        f"{setup.url}/api/auth/oauth/corp/callback", params={"code": "x", "state": "forged"}
    )
    assert forged_state.status_code == 400 and forged_state.json()["code"] == "InvalidState"
    elsewhere = httpx.get(
        f"{setup.url}/api/auth/oauth/corp/start", params={"redirectTo": "https://evil.example/"}
    )
    assert elsewhere.status_code == 400 and elsewhere.json()["code"] == "RedirectNotAllowed"
    unknown = httpx.get(f"{setup.url}/api/auth/oauth/nope/start", params={"redirectTo": APP_URL})
    assert unknown.status_code == 404
    denied = httpx.get(
        f"{setup.url}/api/auth/oauth/corp/callback", params={"error": "access_denied"}
    )
    assert denied.status_code == 400 and denied.json()["code"] == "OAuthDenied"


def test_presets_cover_the_common_providers() -> None:
    assert {"github", "google", "apple", "microsoft", "discord"} <= set(PRESETS)
    for name, preset in PRESETS.items():
        assert (preset.issuer is None) != (preset.client is None), name


async def test_a_preset_without_credentials_says_which_variables_to_set() -> None:
    backend = Backend(
        MemoryPersistence(),
        Registry(),
        url="http://127.0.0.1:1",
        sign_in=SignInConfig(oauth=(OAuthProviderConfig("github", preset="github"),)),
    )
    transport = httpx.ASGITransport(app=create_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:1") as http:
        response = await http.get(
            "/api/auth/oauth/github/start", params={"redirectTo": "http://127.0.0.1:1/"}
        )
    backend.close()
    assert response.status_code == 500
    assert "AUTH_GITHUB_ID" in response.json()["message"]
