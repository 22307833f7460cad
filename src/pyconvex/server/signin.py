"""Built-in sign-in over HTTP: the issuer's metadata and the ``/api/auth/*`` routes.

=======================================  ====================================================
``GET /.well-known/openid-configuration``  the deployment as an OpenID issuer
``GET /.well-known/jwks.json``             its public signing keys
``POST /api/auth/signup``                  ``{email, password, name?}`` → tokens
``POST /api/auth/signin``                  ``{email, password}`` → tokens
``POST /api/auth/refresh``                 ``{refreshToken}`` → new tokens (the old one is spent)
``POST /api/auth/signout``                 ``{refreshToken}`` → ``{}``; the session ends
``POST /api/auth/code``                    ``{email, kind: "verify" | "reset"}`` → ``{}``
``POST /api/auth/verify-email``            ``{email, code}`` → ``{}``
``POST /api/auth/reset-password``          ``{email, code, password}`` → tokens
``GET /api/auth/oauth/<id>/start``         ``?redirectTo=<app URL>``: off to the provider
``GET|POST /api/auth/oauth/<id>/callback`` back from it: on to ``redirectTo?code=...``
``POST /api/auth/exchange``                ``{code}`` → tokens
=======================================  ====================================================

Tokens are ``{"token", "refreshToken", "expiresAt"}``; ``token`` is what the
clients' ``setAuth`` wants. Refusals are ``{"code", "message"}`` with a 4xx status.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from pyconvex.application import Backend
from pyconvex.signin.service import SignInError

__all__ = ["routes"]

Handler = Callable[[Request], Awaitable[Response]]


def routes(backend: Backend) -> list[Route]:
    """The issuer metadata and sign-in routes of ``backend``."""
    api = _SignInApi(backend)
    return [
        Route("/.well-known/openid-configuration", api.discovery, methods=["GET"]),
        Route("/.well-known/jwks.json", api.jwks, methods=["GET"]),
        Route("/api/auth/signup", _json(api.sign_up), methods=["POST"]),
        Route("/api/auth/signin", _json(api.sign_in), methods=["POST"]),
        Route("/api/auth/refresh", _json(api.refresh), methods=["POST"]),
        Route("/api/auth/signout", _json(api.sign_out), methods=["POST"]),
        Route("/api/auth/code", _json(api.code), methods=["POST"]),
        Route("/api/auth/verify-email", _json(api.verify_email), methods=["POST"]),
        Route("/api/auth/reset-password", _json(api.reset_password), methods=["POST"]),
        Route("/api/auth/exchange", _json(api.exchange), methods=["POST"]),
        Route("/api/auth/oauth/{provider}/start", api.oauth_start, methods=["GET"]),
        Route("/api/auth/oauth/{provider}/callback", api.oauth_callback, methods=["GET", "POST"]),
    ]


def _json(handler: Callable[[dict[str, Any]], Awaitable[Any]]) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
            return JSONResponse(await handler(body))
        except ValueError:
            return _refusal(SignInError(400, "BadJsonBody", "The body must be a JSON object"))
        except KeyError as missing:
            return _refusal(SignInError(400, "BadRequest", f"Missing field {missing}"))
        except SignInError as error:
            return _refusal(error)

    return endpoint


def _refusal(error: SignInError) -> Response:
    return JSONResponse({"code": error.code, "message": error.message}, status_code=error.status)


def _text(body: dict[str, Any], name: str) -> str:
    value = body[name]
    if not isinstance(value, str):
        raise SignInError(400, "BadRequest", f"`{name}` must be a string")
    return value


class _SignInApi:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @property
    def service(self) -> Any:
        return self.backend.signin

    async def discovery(self, request: Request) -> Response:
        issuer = self.service.issuer
        return JSONResponse(
            {
                "issuer": issuer,
                "jwks_uri": f"{issuer}/.well-known/jwks.json",
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "email", "name"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(self.service.keys.jwks(), media_type="application/jwk-set+json")

    async def sign_up(self, body: dict[str, Any]) -> Any:
        name = body.get("name")
        tokens = await self.service.sign_up(
            _text(body, "email"), _text(body, "password"), name if isinstance(name, str) else None
        )
        return tokens.to_json()

    async def sign_in(self, body: dict[str, Any]) -> Any:
        return (await self.service.sign_in(_text(body, "email"), _text(body, "password"))).to_json()

    async def refresh(self, body: dict[str, Any]) -> Any:
        return (await self.service.refresh(_text(body, "refreshToken"))).to_json()

    async def sign_out(self, body: dict[str, Any]) -> Any:
        await self.service.sign_out(_text(body, "refreshToken"))
        return {}

    async def code(self, body: dict[str, Any]) -> Any:
        await self.service.request_code(_text(body, "email"), _text(body, "kind"))
        return {}

    async def verify_email(self, body: dict[str, Any]) -> Any:
        await self.service.verify_email(_text(body, "email"), _text(body, "code"))
        return {}

    async def reset_password(self, body: dict[str, Any]) -> Any:
        tokens = await self.service.reset_password(
            _text(body, "email"), _text(body, "code"), _text(body, "password")
        )
        return tokens.to_json()

    async def exchange(self, body: dict[str, Any]) -> Any:
        return (await self.service.exchange_login_code(_text(body, "code"))).to_json()

    async def oauth_start(self, request: Request) -> Response:
        redirect_to = request.query_params.get("redirectTo", "")
        try:
            url = await self.backend.oauth.start(request.path_params["provider"], redirect_to)
        except SignInError as error:
            return _refusal(error)
        return RedirectResponse(url, status_code=302)

    async def oauth_callback(self, request: Request) -> Response:
        # Most providers come back with a GET; Apple posts a form (response_mode=form_post).
        params: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            form = parse_qs((await request.body()).decode("utf-8", "replace"))
            params |= {name: values[0] for name, values in form.items()}
        if "error" in params:
            return _refusal(
                SignInError(
                    400,
                    "OAuthDenied",
                    f"The provider said: {params.get('error_description') or params['error']}",
                )
            )
        try:
            url = await self.backend.oauth.finish(
                request.path_params["provider"], str(params["code"]), str(params["state"])
            )
        except KeyError:
            return _refusal(SignInError(400, "BadRequest", "The provider sent no code or state"))
        except SignInError as error:
            return _refusal(error)
        return RedirectResponse(url, status_code=302)
