"""Providers' public keys: OpenID discovery and JWKS, cached, refreshed on rotation.

A key set is fetched once and trusted for :data:`~pyconvex.knobs.AUTH_JWKS_CACHE_SECONDS`.
A token signed with a key id the cached set lacks (the provider rotated its keys)
makes the set be fetched again at once, but never twice within
:data:`~pyconvex.knobs.AUTH_JWKS_MIN_REFETCH_SECONDS`: tokens with made-up key ids
cannot turn the server into a flood of requests to the provider. Concurrent
lookups of one set share one fetch.

Keys may also be *pinned*: the deployment's own issuer (built-in sign-in) hands
its key set over in-process, so verifying its tokens needs no request to itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from pyconvex import knobs
from pyconvex.auth.errors import AuthenticationError
from pyconvex.clock import Clock, SystemClock

__all__ = ["KeySetCache"]

log = logging.getLogger("pyconvex.auth")

_JWKS_MEDIA_TYPES = ("application/json", "application/jwk-set+json")
# Which key type each accepted algorithm needs (symmetric "oct" keys never qualify).
_KEY_TYPES = {"RS256": ("RSA", None), "ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519")}


@dataclass(slots=True)
class _Cached:
    value: Any
    fetched_at: float
    keys: list[dict[str, Any]] = field(default_factory=list)


class KeySetCache:
    """Discovery documents and key sets by URL, with bounded refetching.

    Args:
        clock: the time source for cache ages (a ``ManualClock`` in tests).
        cache_seconds: how long a fetched document is trusted.
        min_refetch_seconds: least time between two fetches of one URL.
        timeout_seconds: the time limit of one request.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        cache_seconds: float | None = None,
        min_refetch_seconds: float | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._cache_seconds = (
            knobs.AUTH_JWKS_CACHE_SECONDS if cache_seconds is None else cache_seconds
        )
        self._min_refetch = (
            knobs.AUTH_JWKS_MIN_REFETCH_SECONDS
            if min_refetch_seconds is None
            else min_refetch_seconds
        )
        self._timeout = (
            knobs.AUTH_HTTP_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds
        )
        self._documents: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._pinned: dict[str, Mapping[str, Any] | Callable[[], Mapping[str, Any]]] = {}
        #: How many times each URL was fetched (for tests and diagnostics).
        self.fetches: dict[str, int] = {}

    # -- pinned issuers -----------------------------------------------------

    def pin(self, issuer: str, jwks: Mapping[str, Any] | Callable[[], Mapping[str, Any]]) -> None:
        """Serve ``issuer``'s keys from memory (the deployment's own issuer).

        ``jwks`` may be a function, asked for the keys at each lookup (so keys
        made later, or rotated, are seen).
        """
        self._pinned[issuer.rstrip("/")] = jwks

    def unpin(self, issuer: str) -> None:
        """Look ``issuer``'s keys up by discovery again."""
        self._pinned.pop(issuer.rstrip("/"), None)

    # -- lookups --------------------------------------------------------------

    async def oidc_key(self, issuer: str, kid: str | None, algorithm: str) -> Any:
        """The key of an OpenID provider (found by discovery) that signed a token.

        Raises:
            AuthenticationError: discovery failed, or no key matches.
        """
        pinned = self._pinned.get(issuer.rstrip("/"))
        if pinned is not None:
            jwks = pinned() if callable(pinned) else pinned
            return _select(_key_list(jwks, issuer), kid, algorithm, issuer, strict_kid=False)
        jwks_uri = await self._jwks_uri(issuer)
        return await self._key_from_url(jwks_uri, kid, algorithm, strict_kid=False)

    async def jwks_key(self, jwks: str | Mapping[str, Any], kid: str | None, algorithm: str) -> Any:
        """The key of a custom JWT provider's ``jwks`` (URL, data URI or key set).

        Raises:
            AuthenticationError: the key set cannot be had, or no key matches.
        """
        if isinstance(jwks, Mapping):
            return _select(_key_list(jwks, "the configured key set"), kid, algorithm, "", True)
        if jwks.startswith("data:"):
            return _select(_key_list(_data_uri(jwks), "data URI"), kid, algorithm, jwks, True)
        return await self._key_from_url(jwks, kid, algorithm, strict_kid=True)

    async def _jwks_uri(self, issuer: str) -> str:
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._document(url, kind="discovery", force=False)
        discovered = document.value
        uri = discovered.get("jwks_uri") if isinstance(discovered, dict) else None
        claimed = discovered.get("issuer") if isinstance(discovered, dict) else None
        if not isinstance(uri, str) or not isinstance(claimed, str):
            raise _discovery_failed(issuer, f"{url} lacks `issuer` or `jwks_uri`")
        if claimed.rstrip("/") != issuer.rstrip("/"):
            raise _discovery_failed(
                issuer, f"{url} names issuer {claimed!r}, not the token's {issuer!r}"
            )
        return uri

    async def _key_from_url(
        self, url: str, kid: str | None, algorithm: str, strict_kid: bool
    ) -> Any:
        cached = await self._document(url, kind="jwks", force=False)
        try:
            return _select(cached.keys, kid, algorithm, url, strict_kid)
        except AuthenticationError:
            # Perhaps the provider rotated its keys: fetch again, unless that was just done.
            if self._clock.monotonic() - cached.fetched_at < self._min_refetch:
                log.info("Not refetching %s: fetched %.1f s ago", url, self._age(cached))
                raise
        refreshed = await self._document(url, kind="jwks", force=True)
        return _select(refreshed.keys, kid, algorithm, url, strict_kid)

    def _age(self, cached: _Cached) -> float:
        return self._clock.monotonic() - cached.fetched_at

    async def _document(self, url: str, *, kind: str, force: bool) -> _Cached:
        lock = self._locks.setdefault(url, asyncio.Lock())
        seen = self._documents.get(url)
        async with lock:
            cached = self._documents.get(url)
            fresh = cached is not None and self._age(cached) < self._cache_seconds
            if cached is not None and fresh and not force:
                return cached
            if cached is not None and force and cached is not seen:
                return cached  # another lookup refetched it while this one waited
            if cached is not None and force and self._age(cached) < self._min_refetch:
                return cached
            fetched = await self._fetch(url, kind)
            self._documents[url] = fetched
            return fetched

    async def _fetch(self, url: str, kind: str) -> _Cached:
        self.fetches[url] = self.fetches.get(url, 0) + 1
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise self._fetch_failed(url, kind, f"{type(error).__name__}: {error}") from None
        if response.status_code != 200:
            raise self._fetch_failed(url, kind, f"HTTP {response.status_code}")
        if kind == "jwks":
            content_type = response.headers.get("content-type", "unknown")
            essence = content_type.split(";")[0].strip().lower()
            if essence not in _JWKS_MEDIA_TYPES:
                raise AuthenticationError(
                    "InvalidAuthHeader",
                    f"Invalid Content-Type '{content_type}' when fetching JWKS from '{url}'. "
                    "Expected 'application/json' or 'application/jwk-set+json'.",
                )
        try:
            body = response.json()
        except ValueError:
            raise AuthenticationError(
                "InvalidAuthHeader",
                f"Invalid JWKS response body from '{url}'. The response is not valid JSON or "
                "doesn't match the expected JWKS format.",
            ) from None
        keys = _key_list(body, url) if kind == "jwks" else []
        return _Cached(body, self._clock.monotonic(), keys)

    @staticmethod
    def _fetch_failed(url: str, kind: str, why: str) -> AuthenticationError:
        if kind == "discovery":
            issuer = url.removesuffix("/.well-known/openid-configuration")
            return _discovery_failed(issuer, f"{url}: {why}")
        return AuthenticationError(
            "InvalidAuthHeader",
            f"Could not fetch JWKS from URL '{url}': {why}. Check that the URL is correct and "
            "accessible.",
        )


def _discovery_failed(issuer: str, why: str) -> AuthenticationError:
    return AuthenticationError(
        "AuthProviderDiscoveryFailed", f"Auth provider discovery of {issuer} failed", why
    )


def _key_list(jwks: Any, where: str) -> list[dict[str, Any]]:
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise AuthenticationError(
            "InvalidAuthHeader",
            f"Invalid JWKS response body from '{where}'. The response is not valid JSON or "
            "doesn't match the expected JWKS format.",
        )
    return [dict(key) for key in keys if isinstance(key, Mapping)]


def _data_uri(uri: str) -> Any:
    # The standard library reads data: URIs (RFC 2397), base64 or not, without any network.
    try:
        with urllib.request.urlopen(uri) as response:  # only data: URIs come here
            return json.loads(response.read())
    except (ValueError, OSError):
        raise AuthenticationError(
            "InvalidAuthHeader",
            "Invalid JWKS data URL. Check that the data URL is properly formatted and "
            "contains valid base64-encoded JSON.",
        ) from None


def _select(
    keys: list[dict[str, Any]], kid: str | None, algorithm: str, where: str, strict_kid: bool
) -> Any:
    """The public key for a token's ``kid`` and ``alg`` (a ``jwt.PyJWK``)."""
    kty, crv = _KEY_TYPES[algorithm]
    usable = [
        key
        for key in keys
        if key.get("kty") == kty
        and (crv is None or key.get("crv") == crv)
        and key.get("use", "sig") == "sig"
        and key.get("alg", algorithm) == algorithm
    ]
    if kid is not None:
        usable = [key for key in usable if key.get("kid") == kid]
    elif strict_kid or len(usable) != 1:
        # Without a key id the only acceptable key is the one and only candidate.
        usable = []
    if not usable:
        if kid is None:
            raise AuthenticationError(
                "InvalidAuthHeader",
                "Could not decode token. JWT may be missing a 'kid' (key ID) header.",
                f"no kid, and not exactly one {algorithm} key in {where}",
            )
        raise AuthenticationError(
            "InvalidAuthHeader",
            f"Could not decode token. The JWT's 'kid' (key ID) header is '{kid}', does this "
            "key match any key in the provider's JWKS?",
            f"no {algorithm} key with kid {kid!r} in {where}",
        )
    try:
        return jwt.PyJWK(usable[0], algorithm=algorithm)
    except jwt.PyJWTError as error:
        raise AuthenticationError(
            "InvalidAuthHeader",
            "Could not decode token. The provider's key could not be read.",
            f"unreadable key {kid!r} in {where}: {error}",
        ) from None
