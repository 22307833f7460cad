"""Built-in sign-in, as ``convex/auth_config.py`` turns it on.

::

    sign_in = {
        "password": True,                  # email + password accounts
        "on_user": "users:onSignIn",       # internal mutation: link the account to a user
        "send_code": "auth:sendCode",      # internal action: deliver a code by email
        "oauth": ["github", "google", {"id": "corp", "issuer": "https://sso.corp.example"}],
        "redirect_urls": ["http://localhost:5173"],   # where OAuth may send users back
    }

``on_user`` runs after every sign-up and sign-in, as the signed-in user (so
``ctx.auth.get_user_identity()`` works in it), with ``{"provider", "email",
"emailVerified", "name", "image"}``; whatever it returns (typically the app's
``users`` id) is kept on the account. ``send_code`` gets ``{"email", "code",
"kind"}`` with kind ``"verify"`` or ``"reset"``.

OAuth providers are preset names (see :data:`pyconvex.signin.oauth.PRESETS`) or
dicts with an ``issuer`` (any OpenID provider, found by discovery). Client ids
and secrets come from the deployment's environment variables
``AUTH_<ID>_ID`` and ``AUTH_<ID>_SECRET`` (``AUTH_GITHUB_ID``...), as in Convex
Auth, unless the dict gives ``client_id`` / ``client_secret``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyconvex.auth.config import AuthConfigError

__all__ = ["OAuthProviderConfig", "SignInConfig", "parse_sign_in"]


@dataclass(frozen=True, slots=True)
class OAuthProviderConfig:
    """One OAuth / OpenID provider users may sign in with.

    Attributes:
        id: the name in URLs (``/api/auth/oauth/<id>/start``) and env variable names.
        preset: the preset it uses (None: generic OpenID by ``issuer``).
        issuer: an OpenID provider's issuer (found by discovery).
        scopes: scopes to ask for (None: the preset's or ``openid email profile``).
    """

    id: str
    preset: str | None = None
    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scopes: tuple[str, ...] | None = None

    @property
    def env_prefix(self) -> str:
        """The prefix of its environment variables: ``AUTH_GITHUB``."""
        return "AUTH_" + self.id.upper().replace("-", "_")


@dataclass(frozen=True, slots=True)
class SignInConfig:
    """What built-in sign-in offers this app (see the module docstring)."""

    password: bool = False
    on_user: str | None = None
    send_code: str | None = None
    oauth: tuple[OAuthProviderConfig, ...] = ()
    redirect_urls: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        """Whether any way of signing in is on."""
        return self.password or bool(self.oauth)

    def provider(self, provider_id: str) -> OAuthProviderConfig | None:
        """The OAuth provider called ``provider_id``, if configured."""
        return next((p for p in self.oauth if p.id == provider_id), None)


def parse_sign_in(module: Any) -> SignInConfig:
    """The ``sign_in`` settings of an ``auth_config.py`` module (off without any).

    Raises:
        AuthConfigError: an unknown setting or provider.
    """
    raw = getattr(module, "sign_in", None) if module is not None else None
    if raw is None:
        return SignInConfig()
    if not isinstance(raw, Mapping):
        raise AuthConfigError("`sign_in` in convex/auth_config.py must be a dict")
    known = {"password", "on_user", "send_code", "oauth", "redirect_urls"}
    unknown = set(raw) - known
    if unknown:
        raise AuthConfigError(f"Unknown `sign_in` settings: {sorted(unknown)}")
    for name in ("on_user", "send_code"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise AuthConfigError(f"`sign_in[{name!r}]` must be a function path like 'users:x'")
    redirects = raw.get("redirect_urls", ())
    if isinstance(redirects, str) or not isinstance(redirects, Sequence):
        raise AuthConfigError("`sign_in['redirect_urls']` must be a list of URLs")
    return SignInConfig(
        password=bool(raw.get("password", False)),
        on_user=raw.get("on_user"),
        send_code=raw.get("send_code"),
        oauth=tuple(_oauth(item) for item in raw.get("oauth", ())),
        redirect_urls=tuple(str(url).rstrip("/") for url in redirects),
    )


def _oauth(item: Any) -> OAuthProviderConfig:
    from pyconvex.signin.oauth import PRESETS

    if isinstance(item, str):
        item = {"id": item}
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
        raise AuthConfigError(
            f"An OAuth provider must be a preset name or a dict with `id`: {item!r}"
        )
    provider_id = item["id"]
    preset = item.get("preset", provider_id if provider_id in PRESETS else None)
    issuer = item.get("issuer")
    if preset is None and not isinstance(issuer, str):
        raise AuthConfigError(
            f"Unknown OAuth provider {provider_id!r}: use one of {sorted(PRESETS)} or give "
            "the `issuer` of an OpenID provider"
        )
    if preset is not None and preset not in PRESETS:
        raise AuthConfigError(f"Unknown OAuth preset {preset!r}: one of {sorted(PRESETS)}")
    scopes = item.get("scopes")
    return OAuthProviderConfig(
        id=provider_id,
        preset=preset,
        issuer=issuer,
        client_id=item.get("client_id"),
        client_secret=item.get("client_secret"),
        scopes=tuple(scopes) if scopes is not None else None,
    )
