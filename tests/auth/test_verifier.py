"""Token verification (auth/verifier.py) against a real issuer on loopback.

Every kind of bad token is refused with Convex's code, and the log says why.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from pyconvex.auth.config import CustomJwtProvider, OidcProvider
from pyconvex.auth.errors import AuthenticationError
from pyconvex.auth.verifier import TokenVerifier
from pyconvex.clock import ManualClock

from .issuer import Issuer, SigningKey, running_issuer

NOW = 1_800_000_000


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW * 10**9)


def oidc(issuer: Issuer, clock: ManualClock) -> TokenVerifier:
    return TokenVerifier([OidcProvider(issuer.url, "convex")], clock=clock)


def claims(issuer: Issuer, **extra: Any) -> dict[str, Any]:
    base = {"iss": issuer.url, "sub": "ada", "aud": "convex", "iat": NOW, "exp": NOW + 600}
    return {**base, **extra}


async def test_an_oidc_token_gives_the_users_identity(issuer: Issuer, clock: ManualClock) -> None:
    token = issuer.key.sign(
        claims(
            issuer,
            name="Ada Lovelace",
            given_name="Ada",
            email="ada@example.com",
            email_verified=True,
            picture="https://pics/ada.png",
            locale="en",
            updated_at=NOW,
            address={"formatted": "12 St James's Square"},
            org="analytical",
            jti="changes-every-time",
            nbf=NOW - 1,
        )
    )
    verified = await oidc(issuer, clock).verify(token)
    assert verified.expires_at == NOW + 600
    identity = verified.identity
    assert identity["tokenIdentifier"] == f"{issuer.url}|ada"
    assert identity["subject"] == "ada" and identity["issuer"] == issuer.url
    assert identity["name"] == "Ada Lovelace" and identity["givenName"] == "Ada"
    assert identity["emailVerified"] is True and identity["pictureUrl"] == "https://pics/ada.png"
    assert identity["language"] == "en" and identity["address"] == "12 St James's Square"
    assert identity["updatedAt"].startswith("2027-01-15T")
    assert identity["org"] == "analytical"  # a custom claim
    # Housekeeping that changes with every refresh would bust the query cache.
    assert not {"jti", "nbf", "iat", "exp", "aud", "email_verified"} & set(identity)


async def test_eddsa_is_accepted_for_oidc(clock: ManualClock) -> None:
    with running_issuer("EdDSA") as issuer:
        verified = await oidc(issuer, clock).verify(issuer.key.sign(claims(issuer)))
    assert verified.identity["subject"] == "ada"


async def test_custom_jwt_flattens_nested_claims(issuer: Issuer, clock: ManualClock) -> None:
    es256 = SigningKey("es", "ES256")
    provider = CustomJwtProvider(
        issuer.url, {"keys": [es256.public_jwk()]}, "ES256", application_id=None
    )
    verifier = TokenVerifier([provider], clock=clock)
    token = es256.sign(
        {
            "iss": issuer.url,
            "sub": "u1",
            "exp": NOW + 60,
            "iat": NOW,
            "properties": {"email": "u1@x.org", "tier": {"level": 2}},
            "fva": [1, 2],
        }
    )
    identity = (await verifier.verify(token)).identity
    assert identity["tokenIdentifier"] == f"{issuer.url}|u1"
    assert identity["properties.email"] == "u1@x.org"
    assert identity["properties.tier.level"] == 2
    assert "fva" not in identity and "exp" not in identity


async def test_custom_jwt_keys_from_a_url_and_a_data_uri(
    issuer: Issuer, clock: ManualClock
) -> None:
    by_url = CustomJwtProvider(issuer.url, f"{issuer.url}/jwks", "RS256", "convex")
    token = issuer.key.sign(claims(issuer))
    assert (await TokenVerifier([by_url], clock=clock).verify(token)).identity["subject"] == "ada"
    data = base64.b64encode(json.dumps(issuer.jwks()).encode()).decode()
    by_data = CustomJwtProvider(issuer.url, f"data:text/plain;charset=utf-8;base64,{data}", "RS256")
    assert (await TokenVerifier([by_data], clock=clock).verify(token)).identity["subject"] == "ada"


async def test_clock_skew_of_five_seconds(issuer: Issuer, clock: ManualClock) -> None:
    verifier = oidc(issuer, clock)
    await verifier.verify(issuer.key.sign(claims(issuer, iat=NOW + 3)))
    with pytest.raises(AuthenticationError):
        await verifier.verify(issuer.key.sign(claims(issuer, iat=NOW + 10)))
    await verifier.verify(issuer.key.sign(claims(issuer, exp=NOW - 2)))  # within the skew
    clock.advance(700)
    with pytest.raises(AuthenticationError, match="hasn't expired"):
        await verifier.verify(issuer.key.sign(claims(issuer)))


def _forge_none(issuer: Issuer) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims(issuer))}."


def _hs256_with_public_key(issuer: Issuer) -> str:
    # The classic confusion attack: sign with HMAC, using the public key as the secret.
    public_pem = issuer.key.public_jwk()["n"].encode()
    header = {"alg": "HS256", "kid": issuer.key.kid}
    return jwt.encode(claims(issuer), public_pem, algorithm="HS256", headers=header)


BAD_TOKENS = {
    "expired": (lambda i: i.key.sign(claims(i, exp=NOW - 60)), "Unauthenticated", "expired"),
    "not yet valid": (
        lambda i: i.key.sign(claims(i, nbf=NOW + 600)),
        "Unauthenticated",
        "not valid yet",
    ),
    "wrong issuer": (
        lambda i: i.key.sign(claims(i, iss="https://evil.example.com")),
        "NoAuthProvider",
        "match no provider",
    ),
    "wrong audience": (
        lambda i: i.key.sign(claims(i, aud="someone-else")),
        "NoAuthProvider",
        "match no provider",
    ),
    "bad signature": (
        lambda i: SigningKey(i.key.kid).sign(claims(i)),
        "Unauthenticated",
        "Signature verification failed",
    ),
    "unknown kid": (
        lambda i: SigningKey("nobody").sign(claims(i)),
        "InvalidAuthHeader",
        "no RS256 key with kid 'nobody'",
    ),
    "alg none": (_forge_none, "Unauthenticated", "algorithm 'none' is not allowed"),
    "HS256 with the public key": (
        _hs256_with_public_key,
        "Unauthenticated",
        "algorithm 'HS256' is not allowed",
    ),
    "malformed": (lambda i: "not.a.jwt", "InvalidAuthHeader", "DecodeError"),
    "no issuer": (
        lambda i: i.key.sign({"sub": "ada", "exp": NOW + 60}),
        "InvalidAuthHeader",
        "Missing issuer",
    ),
    "oversized": (
        lambda i: i.key.sign(claims(i, padding="x" * 20_000)),
        "InvalidAuthHeader",
        "byte limit",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_bad_tokens_are_refused_and_the_log_says_why(
    case: str, issuer: Issuer, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    make, code, reason = BAD_TOKENS[case]
    caplog.set_level(logging.WARNING, logger="pyconvex.auth")
    with pytest.raises(AuthenticationError) as refused:
        await oidc(issuer, clock).verify(make(issuer))
    assert refused.value.code == code
    assert reason in refused.value.reason
    assert reason in caplog.text


async def test_custom_jwt_refusals_use_convexs_wording(issuer: Issuer, clock: ManualClock) -> None:
    provider = CustomJwtProvider(issuer.url, issuer.jwks(), "RS256", "convex")
    verifier = TokenVerifier([provider], clock=clock)
    missing_kid = jwt.encode(claims(issuer), issuer.key.private, algorithm="RS256")
    with pytest.raises(AuthenticationError, match="missing a 'kid'"):
        await verifier.verify(missing_kid)
    with pytest.raises(AuthenticationError, match="header is 'other', does this key match"):
        await verifier.verify(SigningKey("other").sign(claims(issuer)))
    with pytest.raises(AuthenticationError, match="Could not validate token"):
        await verifier.verify(issuer.key.sign(claims(issuer, exp=NOW - 60)))
    with pytest.raises(AuthenticationError, match="Missing expiry"):
        await verifier.verify(issuer.key.sign({"iss": issuer.url, "sub": "a", "aud": "convex"}))
    redacted = TokenVerifier([provider], clock=clock, redact=True)
    with pytest.raises(AuthenticationError) as refused:
        await redacted.verify(SigningKey("other").sign(claims(issuer)))
    assert "other" not in refused.value.message and "other" in refused.value.reason


async def test_no_providers_message(issuer: Issuer) -> None:
    with pytest.raises(AuthenticationError, match="no providers configured"):
        await TokenVerifier([]).verify(issuer.token())


async def test_real_time_tokens_pass_the_system_clock(issuer: Issuer) -> None:
    verifier = TokenVerifier([OidcProvider(issuer.url, "convex")])
    assert (await verifier.verify(issuer.token("bob"))).expires_at > time.time()
