"""The ``sign_in`` settings of auth_config.py (signin/config.py)."""

from __future__ import annotations

import types

import pytest

from pyconvex.auth.config import AuthConfigError
from pyconvex.signin.config import OAuthProviderConfig, SignInConfig, parse_sign_in


def test_settings_are_read() -> None:
    module = types.SimpleNamespace(
        sign_in={
            "password": True,
            "on_user": "users:onSignIn",
            "send_code": "auth:sendCode",
            "oauth": ["github", {"id": "corp", "issuer": "https://sso.corp.example"}],
            "redirect_urls": ["http://localhost:5173/"],
        }
    )
    config = parse_sign_in(module)
    assert config.password and config.enabled
    assert config.on_user == "users:onSignIn" and config.send_code == "auth:sendCode"
    assert config.provider("github") == OAuthProviderConfig("github", preset="github")
    corp = config.provider("corp")
    assert corp is not None and corp.issuer == "https://sso.corp.example" and corp.preset is None
    assert corp.env_prefix == "AUTH_CORP"
    assert config.redirect_urls == ("http://localhost:5173",)
    assert config.provider("nope") is None


def test_no_settings_means_off() -> None:
    assert parse_sign_in(None) == SignInConfig()
    assert not parse_sign_in(types.SimpleNamespace()).enabled


@pytest.mark.parametrize(
    ("sign_in", "message"),
    [
        ({"pasword": True}, "Unknown `sign_in` settings"),
        ({"oauth": ["myspace"]}, "Unknown OAuth provider 'myspace'"),
        ({"oauth": [{"id": "x", "preset": "nope"}]}, "Unknown OAuth preset"),
        ({"oauth": [42]}, "preset name or a dict"),
        ({"on_user": 3}, "must be a function path"),
        ({"redirect_urls": "http://x"}, "must be a list"),
        ([], "must be a dict"),
    ],
)
def test_mistakes_are_refused_at_load(sign_in: object, message: str) -> None:
    with pytest.raises(AuthConfigError, match=message):
        parse_sign_in(types.SimpleNamespace(sign_in=sign_in))
