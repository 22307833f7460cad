"""Verifying a user's JWT against the deployment's providers, as Convex does.

:meth:`TokenVerifier.verify` reads the token's ``iss`` and ``aud`` (unverified) to
pick the first matching provider, then checks everything for real: the
signature with the provider's key (only RS256 / EdDSA for OpenID providers, the
configured RS256 or ES256 for custom JWTs, so ``alg: none`` and HS256 tokens
signed with a public key never pass), ``exp`` (required), ``nbf`` and ``iat``
with 5 s of clock skew, issuer and audience. The result is the identity
functions see through ``ctx.auth.get_user_identity()``.

Every refusal is an :class:`~pyconvex.auth.errors.AuthenticationError` with
Convex's code and wording for the client and the precise reason for the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from pyconvex import knobs
from pyconvex.auth.config import CustomJwtProvider, OidcProvider, Provider
from pyconvex.auth.errors import AuthenticationError
from pyconvex.auth.jwks import KeySetCache
from pyconvex.clock import Clock, SystemClock

__all__ = ["TokenVerifier", "VerifiedToken", "identity_from_claims"]

log = logging.getLogger("pyconvex.auth")

OIDC_ALGORITHMS = ("RS256", "EdDSA")

#: Standard OpenID claims and the camelCase names functions see them under.
STANDARD_CLAIMS: Mapping[str, str] = {
    "name": "name",
    "given_name": "givenName",
    "family_name": "familyName",
    "nickname": "nickname",
    "preferred_username": "preferredUsername",
    "profile": "profileUrl",
    "picture": "pictureUrl",
    "website": "websiteUrl",
    "email": "email",
    "email_verified": "emailVerified",
    "gender": "gender",
    "birthdate": "birthday",
    "zoneinfo": "timezone",
    "locale": "language",
    "phone_number": "phoneNumber",
    "phone_number_verified": "phoneNumberVerified",
    "address": "address",
    "updated_at": "updatedAt",
}
# JWT and ID-token housekeeping, not facts about the user. ``jti``, ``nbf`` and
# ``fva`` also change on every refresh and would needlessly bust the query cache.
_REGISTERED = frozenset(
    {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "auth_time", "nonce", "acr", "amr", "azp"}
    | {"at_hash", "c_hash", "sid", "fva"}
)
_CUSTOM_REGISTERED = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "fva"})

_UNPARSEABLE = (
    "Could not parse JWT payload. Check that the token is a valid JWT format with three "
    "base64-encoded parts separated by dots."
)
_OIDC_REFUSED = (
    "Could not verify OIDC token claim. Check that the token signature is valid and the "
    "token hasn't expired."
)


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token that passed every check.

    Attributes:
        identity: the user's attributes, camelCase (``tokenIdentifier``, ``subject``, ...).
        expires_at: the token's ``exp`` in seconds since the epoch.
    """

    identity: dict[str, Any]
    expires_at: float


class TokenVerifier:
    """Checks user tokens against a deployment's auth providers.

    Args:
        providers: from ``auth_config.py`` (see :mod:`pyconvex.auth.config`).
        keys: where providers' keys come from (shared, so the cache survives reloads).
        clock: the time ``exp``, ``nbf`` and ``iat`` are checked against.
        redact: production: say less about why a token's key did not match.
    """

    def __init__(
        self,
        providers: Sequence[Provider] = (),
        *,
        keys: KeySetCache | None = None,
        clock: Clock | None = None,
        redact: bool = False,
    ) -> None:
        self.providers: tuple[Provider, ...] = tuple(providers)
        self.clock = clock or SystemClock()
        self.keys = keys or KeySetCache(clock=self.clock)
        self.redact = redact

    def now(self) -> float:
        """The verifier's current time, seconds since the epoch."""
        return self.clock.now_ns() / 1e9

    async def verify(self, token: str) -> VerifiedToken:
        """The identity ``token`` proves.

        Raises:
            AuthenticationError: the token is refused (the reason is logged too).
        """
        try:
            return await self._verify(token)
        except AuthenticationError as error:
            log.warning("Refused a token: %s (%s)", error.reason, error.code)
            raise

    async def _verify(self, token: str) -> VerifiedToken:
        if len(token.encode("utf-8", "replace")) > knobs.AUTH_TOKEN_MAX_BYTES:
            raise AuthenticationError(
                "InvalidAuthHeader",
                "The token is too large.",
                f"{len(token)} bytes, over the {knobs.AUTH_TOKEN_MAX_BYTES}-byte limit",
            )
        header, claims = _unverified(token)
        issuer = claims.get("iss")
        if not isinstance(issuer, str):
            raise AuthenticationError(
                "InvalidAuthHeader",
                "Missing issuer claim ('iss') in JWT payload. The JWT must include an 'iss' "
                "claim that matches one of your configured auth providers.",
            )
        audiences = _audiences(claims.get("aud"))
        provider = next((p for p in self.providers if p.matches(issuer, audiences)), None)
        if provider is None:
            raise AuthenticationError(
                "NoAuthProvider",
                self._no_provider_message(),
                f"iss {issuer!r} aud {audiences!r} match no provider",
            )
        if isinstance(provider, OidcProvider):
            return await self._verify_oidc(token, header, issuer, provider)
        return await self._verify_custom(token, header, issuer, provider)

    def _no_provider_message(self) -> str:
        if self.redact:
            return "No auth provider found matching the given token"
        if not self.providers:
            return (
                "No auth provider found matching the given token (no providers configured). "
                "Check convex/auth_config.py."
            )
        listed = ", ".join(p.describe() for p in self.providers)
        return (
            "No auth provider found matching the given token. Check that your JWT's issuer "
            f"and audience match one of your configured providers: [{listed}]"
        )

    async def _verify_oidc(
        self, token: str, header: dict[str, Any], issuer: str, provider: OidcProvider
    ) -> VerifiedToken:
        algorithm = header.get("alg")
        if algorithm not in OIDC_ALGORITHMS:
            raise AuthenticationError(
                "Unauthenticated", _OIDC_REFUSED, f"algorithm {algorithm!r} is not allowed"
            )
        key = await self.keys.oidc_key(issuer, header.get("kid"), algorithm)
        try:
            claims = self._decode(token, key, algorithm)
            self._check_times(claims)
        except AuthenticationError as error:
            raise AuthenticationError("Unauthenticated", _OIDC_REFUSED, error.reason) from None
        return VerifiedToken(_oidc_identity(claims), float(claims["exp"]))

    async def _verify_custom(
        self, token: str, header: dict[str, Any], issuer: str, provider: CustomJwtProvider
    ) -> VerifiedToken:
        algorithm = header.get("alg")
        kid = header.get("kid")
        if algorithm != provider.algorithm:
            raise self._undecodable(kid, f"algorithm {algorithm!r}, expected {provider.algorithm}")
        if not isinstance(kid, str):
            raise self._undecodable(None, "no kid")
        try:
            key = await self.keys.jwks_key(provider.jwks, kid, algorithm)
        except AuthenticationError as error:
            if error.message.startswith("Could not decode token"):
                raise self._undecodable(kid, error.reason) from None
            raise
        try:
            claims = self._decode(token, key, algorithm)
        except AuthenticationError as error:
            raise self._undecodable(kid, error.reason) from None
        if provider.application_id is not None:
            audiences = _audiences(claims.get("aud"))
            if provider.application_id not in audiences:
                raise AuthenticationError(
                    "InvalidAuthHeader",
                    f"Invalid audience: {provider.application_id} not in {audiences}",
                )
        for required in ("sub", "exp"):
            if required not in claims:
                raise AuthenticationError(
                    "InvalidAuthHeader",
                    f"Missing {'subject' if required == 'sub' else 'expiry'}",
                )
        try:
            self._check_times(claims)
        except AuthenticationError as error:
            raise AuthenticationError(
                "InvalidAuthHeader", f"Could not validate token: {error.reason}"
            ) from None
        return VerifiedToken(_custom_identity(claims), float(claims["exp"]))

    def _undecodable(self, kid: str | None, reason: str) -> AuthenticationError:
        if kid is None:
            message = "Could not decode token. JWT may be missing a 'kid' (key ID) header."
        elif self.redact:
            message = (
                "Could not decode token. The JWT's 'kid' (key ID) header doesn't match any key "
                "in the provider's JWKS, or the JWT signature is invalid."
            )
        else:
            message = (
                f"Could not decode token. The JWT's 'kid' (key ID) header is '{kid}', does "
                "this key match any key in the provider's JWKS?"
            )
        return AuthenticationError("InvalidAuthHeader", message, reason)

    @staticmethod
    def _decode(token: str, key: Any, algorithm: str) -> dict[str, Any]:
        # PyJWT checks the signature; times, issuer and audience are checked here,
        # against the injected clock and with Convex's rules.
        options: Any = {
            "verify_signature": True,
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            "verify_aud": False,
            "verify_iss": False,
        }
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key=key.key, algorithms=[algorithm], options=options
            )
        except jwt.PyJWTError as error:
            raise AuthenticationError(
                "InvalidAuthHeader", "Invalid token", f"{type(error).__name__}: {error}"
            ) from None
        return claims

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self.now()
        skew = knobs.AUTH_CLOCK_SKEW_SECONDS
        exp: Any = claims.get("exp")
        if not _is_number(exp):
            raise AuthenticationError("InvalidAuthHeader", "Missing expiry", "no numeric exp")
        if now - skew >= float(exp):
            raise AuthenticationError(
                "InvalidAuthHeader", "Token expired", f"expired at {exp}, now {now:.0f}"
            )
        for name, why in (("nbf", "not valid yet"), ("iat", "issued in the future")):
            value = claims.get(name)
            if value is None:
                continue
            if not _is_number(value):
                raise AuthenticationError(
                    "InvalidAuthHeader", f"Invalid {name}", f"{name}={value!r}"
                )
            if float(value) > now + skew:
                raise AuthenticationError(
                    "InvalidAuthHeader", why, f"{why}: {name} {value}, now {now:.0f}"
                )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise AuthenticationError(
            "InvalidAuthHeader", _UNPARSEABLE, f"{type(error).__name__}: {error}"
        ) from None
    if not isinstance(claims, dict):
        raise AuthenticationError("InvalidAuthHeader", _UNPARSEABLE, "the payload is not an object")
    return header, claims


def _audiences(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        return [a for a in raw if isinstance(a, str)]
    return []


def identity_from_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The identity an OpenID token's claims describe (standard claims in camelCase)."""
    return _oidc_identity(claims)


def _base(claims: Mapping[str, Any]) -> dict[str, Any]:
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    return {"tokenIdentifier": f"{issuer}|{subject}", "subject": subject, "issuer": issuer}


def _oidc_identity(claims: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(claims.get("sub"), str):
        raise AuthenticationError("Unauthenticated", _OIDC_REFUSED, "no sub claim")
    identity = _base(claims)
    for name, value in claims.items():
        if name in STANDARD_CLAIMS:
            if name == "address" and isinstance(value, Mapping):
                value = value.get("formatted")
            if name == "updated_at" and _is_number(value):
                value = _rfc3339(float(value))
            if value is not None:
                identity[STANDARD_CLAIMS[name]] = value
        elif name not in _REGISTERED:
            identity[name] = value
    return identity


def _custom_identity(claims: Mapping[str, Any]) -> dict[str, Any]:
    # Custom JWTs: every non-registered claim, nested objects flattened to dotted keys.
    identity = _base(claims)
    for name, value in _flatten(claims):
        if name not in _CUSTOM_REGISTERED:
            identity[name] = value
    return identity


def _flatten(claims: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    flat: list[tuple[str, Any]] = []
    for name, value in claims.items():
        if isinstance(value, Mapping):
            flat.extend(_flatten(value, f"{prefix}{name}."))
        else:
            flat.append((f"{prefix}{name}", value))
    return flat


def _rfc3339(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()
