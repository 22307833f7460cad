"""Auth providers, as ``convex/auth_config.py`` declares them (Convex's ``auth.config.ts``).

::

    providers = [
        # OpenID Connect: keys found by discovery at <domain>/.well-known/openid-configuration.
        {"domain": "https://my-tenant.example.com", "applicationID": "convex"},
        # Any issuer of JWTs with a JWKS (a URL, a data: URI, or the key set itself).
        {
            "type": "customJwt",
            "issuer": "https://auth.example.com",
            "jwks": "https://auth.example.com/.well-known/jwks.json",
            "algorithm": "RS256",          # or "ES256"
            "applicationID": "my-app",     # optional: then ``aud`` must contain it
        },
    ]

The module may also define ``auth_config = {"providers": [...]}`` (or ``default``).
Keys are spelled as in Convex (``applicationID``); ``application_id`` and
``applicationId`` are accepted too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pyconvex.errors import PyConvexError

__all__ = [
    "AuthConfigError",
    "CustomJwtProvider",
    "OidcProvider",
    "Provider",
    "normalize_issuer",
    "parse_auth_config",
    "parse_providers",
]

CUSTOM_JWT_ALGORITHMS = frozenset({"RS256", "ES256"})
_SCHEME = re.compile(r"^\w+://")


class AuthConfigError(PyConvexError):
    """``auth_config.py`` declares a provider Convex would not accept."""


def normalize_issuer(url: str) -> str:
    """An issuer as Convex compares it: ``https://`` added if there is no scheme.

    Raises:
        AuthConfigError: not an http(s) URL.
    """
    if not isinstance(url, str) or not url or url.startswith('"'):
        raise AuthConfigError(f"Invalid provider domain URL {url!r}")
    full = url if _SCHEME.match(url) else f"https://{url}"
    parts = urlsplit(full)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AuthConfigError(
            f'Invalid provider domain URL "{url}": scheme should be http or https'
        )
    return full


def _same_issuer(configured: str, token_issuer: str) -> bool:
    # Some tokens omit the scheme, some add a trailing slash (Auth0): compare as Convex does.
    with_scheme = (
        token_issuer
        if token_issuer.startswith(("https://", "http://"))
        else f"https://{token_issuer}"
    )
    return configured.rstrip("/") == with_scheme.rstrip("/")


@dataclass(frozen=True, slots=True)
class OidcProvider:
    """An OpenID Connect provider: ``iss`` is ``domain``, ``aud`` contains ``application_id``."""

    domain: str
    application_id: str

    def matches(self, issuer: str, audiences: Sequence[str]) -> bool:
        """Whether a token with this ``iss`` and ``aud`` is this provider's."""
        return self.application_id in audiences and _same_issuer(self.domain, issuer)

    def describe(self) -> str:
        """How Convex lists it in a ``NoAuthProvider`` error."""
        return f"OIDC(domain={self.domain}, app_id={self.application_id})"


@dataclass(frozen=True, slots=True)
class CustomJwtProvider:
    """An issuer of JWTs signed with ``algorithm`` by a key of ``jwks``.

    Attributes:
        jwks: a URL, a ``data:`` URI, or the key set itself (``{"keys": [...]}``).
        application_id: when set, ``aud`` must contain it.
    """

    issuer: str
    jwks: str | Mapping[str, Any]
    algorithm: str
    application_id: str | None = None

    def matches(self, issuer: str, audiences: Sequence[str]) -> bool:
        """Whether a token with this ``iss`` and ``aud`` is this provider's."""
        if self.application_id is not None and self.application_id not in audiences:
            return False
        return _same_issuer(self.issuer, issuer)

    def describe(self) -> str:
        """How Convex lists it in a ``NoAuthProvider`` error."""
        return f"CustomJWT(issuer={self.issuer}, app_id={self.application_id or 'none'})"


Provider = OidcProvider | CustomJwtProvider


def parse_auth_config(module: Any) -> tuple[Provider, ...]:
    """The providers an ``auth_config.py`` module declares (none without any).

    Raises:
        AuthConfigError: ``providers`` is something other than a list of providers.
    """
    if module is None:
        return ()
    for name in ("providers", "auth_config", "default"):
        value = getattr(module, name, None)
        if value is None:
            continue
        if isinstance(value, Mapping):
            value = value.get("providers", [])
        return parse_providers(value)
    return ()  # e.g. only built-in sign-in (``sign_in = {...}``), or helpers


def parse_providers(raw: Any) -> tuple[Provider, ...]:
    """Parse a list of provider dicts.

    Raises:
        AuthConfigError: a provider lacks a field or has a bad value.
    """
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise AuthConfigError("Auth providers must be a list of dicts")
    return tuple(_provider(item, index) for index, item in enumerate(raw))


def _provider(item: Any, index: int) -> Provider:
    if not isinstance(item, Mapping):
        raise AuthConfigError(f"Auth provider {index} must be a dict, got {item!r}")
    application_id = _application_id(item)
    kind = item.get("type")
    if kind == "customJwt":
        issuer = item.get("issuer")
        jwks = item.get("jwks")
        algorithm = item.get("algorithm")
        if not isinstance(issuer, str) or not issuer:
            raise AuthConfigError(f"Auth provider {index} (customJwt) needs an `issuer`")
        if not (isinstance(jwks, str) and jwks) and not isinstance(jwks, Mapping):
            raise AuthConfigError(
                f"Auth provider {index} (customJwt) needs `jwks`: a URL, a data: URI or a key set"
            )
        if algorithm not in CUSTOM_JWT_ALGORITHMS:
            raise AuthConfigError(
                f"Invalid signature algorithm (only RS256 and ES256 are supported): {algorithm!r}"
            )
        return CustomJwtProvider(normalize_issuer(issuer), jwks, algorithm, application_id)
    if kind is not None and kind != "oidc":
        raise AuthConfigError(f"Auth provider {index} has an unknown type {kind!r}")
    domain = item.get("domain")
    if not isinstance(domain, str) or not domain:
        raise AuthConfigError(
            f"Auth provider {index} needs a `domain` (the issuer URL); an environment "
            "variable it reads may be unset"
        )
    if application_id is None:
        raise AuthConfigError(f"Auth provider {index} ({domain}) needs an `applicationID`")
    return OidcProvider(normalize_issuer(domain), application_id)


def _application_id(item: Mapping[str, Any]) -> str | None:
    for key in ("applicationID", "application_id", "applicationId"):
        value = item.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise AuthConfigError(f"`{key}` must be a string, got {value!r}")
            return value
    return None
