"""Provider keys (auth/jwks.py): discovery, caching, rotation and the refetch bound."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from pyconvex.auth.config import OidcProvider
from pyconvex.auth.errors import AuthenticationError
from pyconvex.auth.jwks import KeySetCache
from pyconvex.auth.verifier import TokenVerifier
from pyconvex.clock import ManualClock

from .issuer import Issuer, SigningKey, running_issuer


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


def verifier_for(issuer: Issuer, clock: ManualClock, **knobs: float) -> TokenVerifier:
    keys = KeySetCache(clock=clock, **knobs)
    return TokenVerifier([OidcProvider(issuer.url, "convex")], keys=keys)


async def test_discovery_and_keys_are_fetched_once_and_cached(issuer: Issuer) -> None:
    verifier = verifier_for(issuer, ManualClock())
    for subject in ("a", "b", "c"):
        await verifier.verify(issuer.token(subject))
    assert issuer.count("/.well-known/openid-configuration") == 1
    assert issuer.count("/jwks") == 1


async def test_concurrent_lookups_share_one_fetch(issuer: Issuer) -> None:
    verifier = verifier_for(issuer, ManualClock())
    await asyncio.gather(*(verifier.verify(issuer.token(str(n))) for n in range(10)))
    assert issuer.count("/jwks") == 1


async def test_a_rotated_key_is_found_by_refetching(issuer: Issuer) -> None:
    clock = ManualClock()
    verifier = verifier_for(issuer, clock, min_refetch_seconds=30)
    await verifier.verify(issuer.token())
    issuer.rotate()
    clock.advance(31)
    assert (await verifier.verify(issuer.token("after"))).identity["subject"] == "after"
    assert issuer.count("/jwks") == 2
    # The old key is still published, and still good.
    assert (await verifier.verify(issuer.keys[0].sign(issuer.claims("old")))).identity


async def test_unknown_kids_cannot_make_the_server_hammer_the_provider(issuer: Issuer) -> None:
    clock = ManualClock()
    verifier = verifier_for(issuer, clock, min_refetch_seconds=30)
    await verifier.verify(issuer.token())
    forged = SigningKey("forged")
    for _ in range(20):
        with pytest.raises(AuthenticationError, match="'kid'"):
            await verifier.verify(forged.sign(issuer.claims()))
    assert issuer.count("/jwks") == 1  # fetched within the bound: no refetch at all
    clock.advance(31)
    for _ in range(20):
        with pytest.raises(AuthenticationError):
            await verifier.verify(forged.sign(issuer.claims()))
    assert issuer.count("/jwks") == 2  # one refetch per bound


async def test_the_cache_expires(issuer: Issuer) -> None:
    clock = ManualClock()
    verifier = verifier_for(issuer, clock, cache_seconds=60)
    await verifier.verify(issuer.token())
    clock.advance(61)
    await verifier.verify(issuer.token())
    assert issuer.count("/jwks") == 2 and issuer.count("/.well-known/openid-configuration") == 2


async def test_a_jwks_with_a_wrong_content_type_is_refused(issuer: Issuer) -> None:
    issuer.jwks_content_type = "text/html"
    with pytest.raises(AuthenticationError, match="Invalid Content-Type 'text/html'"):
        await verifier_for(issuer, ManualClock()).verify(issuer.token())


async def test_a_provider_that_is_down_fails_discovery() -> None:
    with running_issuer() as issuer:
        token, url = issuer.token(), issuer.url
    verifier = TokenVerifier([OidcProvider(url, "convex")], keys=KeySetCache(timeout_seconds=2))
    with pytest.raises(AuthenticationError) as refused:
        await verifier.verify(token)
    assert refused.value.code == "AuthProviderDiscoveryFailed"
    assert "ConnectError" in refused.value.reason


async def test_a_discovery_document_for_another_issuer_is_refused(issuer: Issuer) -> None:
    # The token claims a URL whose discovery names a different issuer.
    other = issuer.url.replace("127.0.0.1", "localhost")
    token = issuer.key.sign(issuer.claims(iss=other))
    verifier = TokenVerifier([OidcProvider(other, "convex")], keys=KeySetCache())
    with pytest.raises(AuthenticationError) as refused:
        await verifier.verify(token)
    assert refused.value.code == "AuthProviderDiscoveryFailed"


async def test_pinned_keys_need_no_request(issuer: Issuer) -> None:
    keys = KeySetCache()
    keys.pin(issuer.url, issuer.jwks())
    verifier = TokenVerifier([OidcProvider(issuer.url, "convex")], keys=keys)
    await verifier.verify(issuer.token())
    assert issuer.requests == []
