"""OAuth 2 and OpenID Connect sign-in: authorization code with PKCE and state.

The provider clients come from `httpx-oauth <https://frankie567.github.io/httpx-oauth/>`_,
a maintained library of async OAuth 2 clients over httpx (the HTTP client pyconvex
already uses), with each provider's endpoints, client authentication method and
profile calls. It was chosen over Authlib because Authlib ships no provider
presets (its former preset package, loginpass, is retired) and its httpx
integration is one of many; httpx-oauth is small, typed and async-first.

* OpenID providers (the ``google``, ``apple`` and ``gitlab`` presets, and any
  ``{"id": ..., "issuer": ...}``) are found by discovery, and the ID token they
  return is verified by pyconvex's own :class:`~pyconvex.auth.verifier.TokenVerifier`
  (signature, issuer, audience = the client id, expiry); its claims, among them
  ``email_verified``, say who signed in.
* Plain OAuth 2 providers (``github``, ``discord``, ``microsoft``, ``facebook``,
  ``linkedin``, ``reddit``) are asked for the profile with the access token.
  Only GitHub (its verified primary email) and Discord (``verified``) vouch for
  the email; the others' emails are kept unverified, so they never link accounts.

A sign-in starts at ``/api/auth/oauth/<id>/start?redirectTo=<app url>``: a
``state`` and a PKCE verifier are stored (single use, 10 minutes) and the
browser goes to the provider. The provider sends it back to
``/api/auth/oauth/<id>/callback``; the code is exchanged, the account found,
linked or created, and the browser is sent to ``redirectTo?code=<one-time code>``,
which the app trades for tokens at ``/api/auth/exchange``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from httpx_oauth.clients.discord import DiscordOAuth2
from httpx_oauth.clients.facebook import FacebookOAuth2
from httpx_oauth.clients.github import GitHubOAuth2
from httpx_oauth.clients.linkedin import LinkedInOAuth2
from httpx_oauth.clients.microsoft import MicrosoftGraphOAuth2
from httpx_oauth.clients.openid import OpenID
from httpx_oauth.clients.reddit import RedditOAuth2
from httpx_oauth.oauth2 import BaseOAuth2

from pyconvex.auth.config import OidcProvider
from pyconvex.auth.errors import AuthenticationError
from pyconvex.auth.jwks import KeySetCache
from pyconvex.auth.verifier import TokenVerifier
from pyconvex.database.environment import read_environment
from pyconvex.database.transaction import Transaction
from pyconvex.signin.config import OAuthProviderConfig
from pyconvex.signin.service import Profile, SignInError, SignInService
from pyconvex.signin.store import OAUTH_STATES, Store, digest

__all__ = ["PRESETS", "OAuthSignIn", "Preset"]

Client = BaseOAuth2[Any]

_STATE_SECONDS = 600
_OPENID_SCOPES = ("openid", "email", "profile")

ProfileReader = Callable[[Client, str, dict[str, Any]], Awaitable[Profile]]


@dataclass(frozen=True, slots=True)
class Preset:
    """A known provider: an OpenID issuer, or an httpx-oauth client and a profile reader."""

    issuer: str | None = None
    client: type[Client] | None = None
    read_profile: ProfileReader | None = None
    scopes: tuple[str, ...] = _OPENID_SCOPES


async def _github(client: Client, token: str, _: dict[str, Any]) -> Profile:
    assert isinstance(client, GitHubOAuth2)
    profile = await client.get_profile(token)
    emails = await client.get_emails(token)
    verified = [e for e in emails if e.get("verified")]
    chosen = next((e for e in verified if e.get("primary")), verified[0] if verified else None)
    return Profile(
        "github",
        str(profile["id"]),
        chosen["email"] if chosen else profile.get("email"),
        chosen is not None,
        profile.get("name") or profile.get("login"),
        profile.get("avatar_url"),
    )


async def _discord(client: Client, token: str, _: dict[str, Any]) -> Profile:
    assert isinstance(client, DiscordOAuth2)
    profile = await client.get_profile(token)
    avatar = profile.get("avatar")
    image = f"https://cdn.discordapp.com/avatars/{profile['id']}/{avatar}.png" if avatar else None
    return Profile(
        "discord",
        str(profile["id"]),
        profile.get("email"),
        bool(profile.get("verified")),
        profile.get("global_name") or profile.get("username"),
        image,
    )


def _unverified(provider: str) -> ProfileReader:
    async def read(client: Client, token: str, _: dict[str, Any]) -> Profile:
        account_id, email = await client.get_id_email(token)
        return Profile(provider, account_id, email, False)

    return read


#: Providers known by name. Others: ``{"id": ..., "issuer": <OpenID issuer>}``.
PRESETS: dict[str, Preset] = {
    "google": Preset(issuer="https://accounts.google.com"),
    "apple": Preset(issuer="https://appleid.apple.com", scopes=("openid", "email", "name")),
    "gitlab": Preset(issuer="https://gitlab.com"),
    "github": Preset(client=GitHubOAuth2, read_profile=_github, scopes=("read:user", "user:email")),
    "discord": Preset(client=DiscordOAuth2, read_profile=_discord, scopes=("identify", "email")),
    "microsoft": Preset(
        client=MicrosoftGraphOAuth2,
        read_profile=_unverified("microsoft"),
        scopes=("User.Read", "email", "openid", "profile"),
    ),
    "facebook": Preset(
        client=FacebookOAuth2, read_profile=_unverified("facebook"), scopes=("email",)
    ),
    "linkedin": Preset(
        client=LinkedInOAuth2, read_profile=_unverified("linkedin"), scopes=("openid", "email")
    ),
    "reddit": Preset(client=RedditOAuth2, read_profile=_unverified("reddit"), scopes=("identity",)),
}


class OAuthSignIn:
    """Runs OAuth sign-ins for a :class:`SignInService`.

    Args:
        service: accounts, sessions and the app's settings.
        keys: the key cache OpenID providers' ID tokens are verified with.
    """

    def __init__(self, service: SignInService, keys: KeySetCache) -> None:
        self.service = service
        self.keys = keys
        self._openid: dict[tuple[str, str], OpenID] = {}

    def callback_url(self, provider_id: str) -> str:
        """Where the provider sends the browser back."""
        return f"{self.service.issuer}/api/auth/oauth/{provider_id}/callback"

    async def start(self, provider_id: str, redirect_to: str) -> str:
        """The provider's authorization URL for a new sign-in that ends at ``redirect_to``.

        Raises:
            SignInError: an unknown provider, missing credentials, or a redirect not allowed.
        """
        config = self._config(provider_id)
        self._check_redirect(redirect_to)
        client, scopes = await self._client(config)
        state = secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        row = {
            "state": digest(state),
            "provider": provider_id,
            "verifier": verifier,
            "redirectTo": redirect_to,
            "expiresAt": self.service.store.now_ms() + _STATE_SECONDS * 1000,
        }
        await self.service.store.write(lambda t: t.insert(OAUTH_STATES, row))
        extras = {"response_mode": "form_post"} if config.preset == "apple" else None
        url: str = await client.get_authorization_url(
            self.callback_url(provider_id),
            state=state,
            scope=list(scopes),
            code_challenge=challenge.decode().rstrip("="),
            code_challenge_method="S256",
            extras_params=extras,
        )
        return url

    async def finish(self, provider_id: str, code: str, state: str) -> str:
        """Complete a sign-in: the URL to send the browser to (with a one-time code).

        Raises:
            SignInError: a wrong or used state, or a failed exchange with the provider.
        """
        config = self._config(provider_id)

        def take(transaction: Transaction) -> Any:
            row = Store.first(transaction, OAUTH_STATES, "by_state", state=digest(state))
            if row is not None:
                transaction.delete(row["_id"])  # single use, whatever comes next
            return row

        row = await self.service.store.write(take)
        if (
            row is None
            or row["provider"] != provider_id
            or row["expiresAt"] < self.service.store.now_ms()
        ):
            raise SignInError(400, "InvalidState", "This sign-in expired or was already used")
        client, _ = await self._client(config)
        try:
            token = await client.get_access_token(
                code, self.callback_url(provider_id), code_verifier=row["verifier"]
            )
        except Exception as error:  # httpx-oauth's GetAccessTokenError and HTTP errors
            raise SignInError(
                400, "OAuthExchangeFailed", f"{provider_id} refused the sign-in: {error}"
            ) from None
        profile = await self._profile(config, client, token)
        account = await self.service.oauth_account(profile)
        login = await self.service.login_code(account)
        return _with_query(row["redirectTo"], {"code": login})

    # -- providers -----------------------------------------------------------

    def _config(self, provider_id: str) -> OAuthProviderConfig:
        config = self.service.config.provider(provider_id)
        if config is None:
            raise SignInError(404, "UnknownProvider", f"No sign-in provider {provider_id!r}")
        return config

    def _credentials(self, config: OAuthProviderConfig) -> tuple[str, str]:
        variables = read_environment(self.service.store.snapshot())
        client_id = config.client_id or variables.get(f"{config.env_prefix}_ID")
        secret = config.client_secret or variables.get(f"{config.env_prefix}_SECRET")
        if not client_id or not secret:
            raise SignInError(
                500,
                "OAuthNotConfigured",
                f"Set the environment variables {config.env_prefix}_ID and "
                f"{config.env_prefix}_SECRET (pyconvex env set) to sign in with {config.id}",
            )
        return client_id, secret

    def _issuer(self, config: OAuthProviderConfig) -> str | None:
        if config.issuer is not None:
            return config.issuer.rstrip("/")
        preset = PRESETS.get(config.preset or "")
        return preset.issuer if preset is not None else None

    async def _client(self, config: OAuthProviderConfig) -> tuple[Client, tuple[str, ...]]:
        client_id, secret = self._credentials(config)
        preset = PRESETS.get(config.preset or "")
        issuer = self._issuer(config)
        scopes = config.scopes or (preset.scopes if preset else _OPENID_SCOPES)
        if issuer is not None:
            key = (issuer, client_id)
            client = self._openid.get(key)
            if client is None or client.client_secret != secret:
                discovery = f"{issuer}/.well-known/openid-configuration"
                try:
                    # httpx-oauth fetches the discovery document in its constructor.
                    client = await asyncio.to_thread(OpenID, client_id, secret, discovery)
                except Exception as error:
                    raise SignInError(
                        502, "OAuthDiscoveryFailed", f"Discovery of {issuer} failed: {error}"
                    ) from None
                self._openid[key] = client
            return client, scopes
        assert preset is not None and preset.client is not None
        return preset.client(client_id, secret), scopes  # type: ignore[call-arg]

    async def _profile(
        self, config: OAuthProviderConfig, client: Client, token: dict[str, Any]
    ) -> Profile:
        issuer = self._issuer(config)
        if issuer is None:
            preset = PRESETS[config.preset or ""]
            assert preset.read_profile is not None
            try:
                return await preset.read_profile(client, token["access_token"], token)
            except Exception as error:
                raise SignInError(
                    502, "OAuthProfileFailed", f"Could not read the {config.id} profile: {error}"
                ) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInError(502, "OAuthProfileFailed", f"{config.id} sent no ID token")
        verifier = TokenVerifier(
            [OidcProvider(issuer, client.client_id)],
            keys=self.keys,
            clock=self.service.store.database.clock,
        )
        try:
            claims = (await verifier.verify(id_token)).identity
        except AuthenticationError as error:
            raise SignInError(
                502,
                "OAuthProfileFailed",
                f"The ID token of {config.id} did not verify: {error.reason}",
            ) from None
        return Profile(
            config.id,
            claims["subject"],
            claims.get("email"),
            claims.get("emailVerified") is True,
            claims.get("name"),
            claims.get("pictureUrl"),
        )

    def _check_redirect(self, redirect_to: str) -> None:
        allowed = [*self.service.config.redirect_urls, self.service.issuer]
        target = urlsplit(redirect_to)
        for url in allowed:
            base = urlsplit(url)
            if (target.scheme, target.netloc) == (base.scheme, base.netloc) and (
                target.path.startswith(base.path or "/")
            ):
                return
        raise SignInError(
            400,
            "RedirectNotAllowed",
            f"{redirect_to!r} is not among sign_in['redirect_urls'] in convex/auth_config.py",
        )


def _with_query(url: str, params: dict[str, str]) -> str:
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}{urlencode(params)}"
