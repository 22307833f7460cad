"""Auth providers from auth_config.py (auth/config.py): Convex's spellings and checks."""

from __future__ import annotations

import types

import pytest

from pyconvex.auth.config import (
    AuthConfigError,
    CustomJwtProvider,
    OidcProvider,
    normalize_issuer,
    parse_auth_config,
    parse_providers,
)


def test_oidc_and_custom_jwt_providers_in_convex_spelling() -> None:
    oidc, custom = parse_providers(
        [
            {"domain": "https://clerk.example.com/", "applicationID": "convex"},
            {
                "type": "customJwt",
                "issuer": "auth.example.com",
                "jwks": "https://auth.example.com/jwks",
                "algorithm": "ES256",
            },
        ]
    )
    assert oidc == OidcProvider("https://clerk.example.com/", "convex")
    assert custom == CustomJwtProvider(
        "https://auth.example.com", "https://auth.example.com/jwks", "ES256", None
    )
    assert oidc.describe() == "OIDC(domain=https://clerk.example.com/, app_id=convex)"
    assert custom.describe() == "CustomJWT(issuer=https://auth.example.com, app_id=none)"


def test_issuers_match_as_convex_compares_them() -> None:
    oidc = OidcProvider("https://idp.example.com", "convex")
    assert oidc.matches("https://idp.example.com/", ["convex"])  # Auth0's trailing slash
    assert oidc.matches("idp.example.com", ["other", "convex"])  # no scheme in iss
    assert not oidc.matches("https://idp.example.com", ["other"])
    assert not oidc.matches("https://evil.example.com", ["convex"])
    custom = CustomJwtProvider("https://a.example.com", {"keys": []}, "RS256")
    assert custom.matches("https://a.example.com", [])  # no applicationID: any audience
    with_audience = CustomJwtProvider("https://a.example.com", {"keys": []}, "RS256", "app")
    assert not with_audience.matches("https://a.example.com", [])


def test_snake_case_and_module_forms() -> None:
    module = types.SimpleNamespace(providers=[{"domain": "https://x.org", "application_id": "c"}])
    assert parse_auth_config(module) == (OidcProvider("https://x.org", "c"),)
    wrapped = types.SimpleNamespace(
        auth_config={"providers": [{"domain": "https://x.org", "applicationId": "c"}]}
    )
    assert parse_auth_config(wrapped) == (OidcProvider("https://x.org", "c"),)
    assert parse_auth_config(None) == ()


@pytest.mark.parametrize(
    ("providers", "message"),
    [
        ([{"applicationID": "convex"}], "needs a `domain`"),
        ([{"domain": "https://x.org"}], "needs an `applicationID`"),
        ([{"domain": "ftp://x.org", "applicationID": "c"}], "scheme should be http or https"),
        (
            [{"type": "customJwt", "issuer": "https://x.org", "jwks": "u", "algorithm": "HS256"}],
            "only RS256 and ES256",
        ),
        ([{"type": "customJwt", "issuer": "https://x.org", "algorithm": "RS256"}], "needs `jwks`"),
        ([{"type": "saml", "domain": "https://x.org"}], "unknown type"),
        ("https://x.org", "must be a list"),
    ],
)
def test_invalid_providers_are_refused_at_load(providers: object, message: str) -> None:
    with pytest.raises(AuthConfigError, match=message):
        parse_providers(providers)


def test_a_module_without_providers_declares_none() -> None:
    assert parse_auth_config(types.SimpleNamespace(sign_in={"password": True})) == ()


def test_normalize_issuer_adds_https() -> None:
    assert normalize_issuer("auth.example.com") == "https://auth.example.com"
    assert normalize_issuer("http://127.0.0.1:9") == "http://127.0.0.1:9"
