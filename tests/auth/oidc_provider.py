"""A real OpenID provider for tests: npm ``oidc-provider`` run by Node on loopback.

:func:`running_oidc_provider` starts ``node/provider.mjs`` (installed by
``scripts/install``) and yields its issuer URL; :func:`sign_in` goes through a
whole authorization-code sign-in with PKCE, as a browser would (following
redirects, filling the provider's login and consent forms), and returns what
arrives at the redirect URI.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

__all__ = ["OidcProvider", "follow_sign_in", "running_oidc_provider", "sign_in"]

NODE = Path(__file__).parent / "node"


class OidcProvider:
    """A running provider: its issuer URL and a way to rotate its signing key."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def rotate(self) -> str:
        """Sign with a new key from now on; return its key id."""
        kid: str = httpx.post(f"{self.issuer}/__rotate").json()["kid"]
        return kid


@contextmanager
def running_oidc_provider(
    clients: list[dict[str, Any]], ttl: dict[str, int] | None = None
) -> Iterator[OidcProvider]:
    """``oidc-provider`` with ``clients`` registered, for the ``with`` block.

    ``ttl`` overrides token lifetimes in seconds (``{"IdToken": 4}``; one hour by default).
    """
    process = subprocess.Popen(
        ["node", "provider.mjs", json.dumps({"clients": clients, "ttl": ttl or {}})],
        cwd=NODE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, "oidc-provider did not start (run scripts/install)"
        yield OidcProvider(json.loads(line)["issuer"])
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def follow_sign_in(
    http: httpx.Client, url: str, account: str, stop_at: str, limit: int = 20
) -> httpx.Response:
    """Follow redirects from ``url`` like a browser, signing in as ``account`` and consenting,
    until a redirect to a URL starting with ``stop_at``; return that redirect response."""
    response = http.get(url)
    for _ in range(limit):
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(stop_at):
                return response
            response = http.get(target)
            continue
        form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
        prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
        assert form and prompt, f"unexpected page: {response.status_code} {response.text[:500]}"
        fields = {"prompt": prompt.group(1)}
        if prompt.group(1) == "login":
            fields |= {"login": account, "password": "any"}
        response = http.post(urljoin(str(response.url), form.group(1)), data=fields)
    raise AssertionError("the sign-in did not finish")


def sign_in(
    provider: OidcProvider, client_id: str, secret: str, redirect_uri: str, account: str
) -> dict[str, Any]:
    """A full authorization-code sign-in with PKCE; return the token response."""
    discovery = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    query = {
        "client_id": client_id,
        "response_type": "code",
        "scope": "openid email profile",
        "redirect_uri": redirect_uri,
        "state": state,
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with httpx.Client() as http:
        url = f"{discovery['authorization_endpoint']}?{urlencode(query)}"
        redirect = follow_sign_in(http, url, account, redirect_uri)
    params = parse_qs(urlsplit(redirect.headers["location"]).query)
    assert params["state"] == [state], "the state came back changed"
    token = httpx.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
    )
    assert token.status_code == 200, token.text
    result: dict[str, Any] = token.json()
    return result
