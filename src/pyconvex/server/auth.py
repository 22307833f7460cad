"""Who an HTTP request comes from: ``Authorization`` headers, as Convex reads them.

* ``Bearer <JWT>``: a user, verified against the deployment's providers;
* ``Convex <admin key>``: the deployment's admin (internal functions allowed);
* ``Convex <admin key>:<base64 of a JSON identity>``: the admin *acting as* a user
  (``pyconvex run --identity``, tests): functions see that identity.

A token that does not verify is refused (401 ``{"code", "message"}`` in Convex's
words), never downgraded to "signed out"; the precise reason goes to the log.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from pyconvex.application import Backend
from pyconvex.auth.errors import AuthenticationError
from pyconvex.server.admin import is_admin
from pyconvex.server.errors import RequestError

__all__ = ["Caller", "acting_identity", "bearer_token", "identify", "refusal"]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the admin or not, and the user identity functions see (or None)."""

    admin: bool = False
    identity: dict[str, Any] | None = None


async def identify(request: Request, backend: Backend) -> Caller:
    """The caller of ``request``.

    Raises:
        RequestError: a wrong admin key (403) or a token that does not verify (401).
    """
    if is_admin(request, backend):
        _, _, acting = request.headers["authorization"].partition(":")
        return Caller(True, acting_identity(acting) if acting else None)
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return Caller()
    try:
        verified = await backend.auth.verify(token)
    except AuthenticationError as error:
        raise refusal(error) from None
    return Caller(False, verified.identity)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header (None without a header).

    Raises:
        RequestError: any other scheme (401 ``InvalidAuthHeader``).
    """
    if not header:
        return None
    if len(header) <= 7 or header[:7].lower() != "bearer ":
        raise RequestError(401, "InvalidAuthHeader", "Header must begin with `bearer `")
    return header[7:].strip()


def acting_identity(encoded: Any) -> dict[str, Any]:
    """The identity an admin acts as: base64 JSON (HTTP) or an object (sync protocol).

    It needs ``tokenIdentifier``, or ``issuer`` and ``subject`` (from which
    ``tokenIdentifier`` is made).

    Raises:
        RequestError: not an identity (400 ``InvalidActingUser``).
    """
    attributes = encoded
    if isinstance(encoded, str):
        try:
            attributes = json.loads(base64.b64decode(encoded.strip(), validate=False))
        except (binascii.Error, ValueError):
            raise _bad_acting_user("the identity is not base64-encoded JSON") from None
    if not isinstance(attributes, dict):
        raise _bad_acting_user("the identity must be a JSON object")
    identity = dict(attributes)
    if "tokenIdentifier" not in identity:
        if not isinstance(identity.get("issuer"), str) or not isinstance(
            identity.get("subject"), str
        ):
            raise _bad_acting_user('Either "tokenIdentifier" or "issuer" and "subject" must be set')
        identity["tokenIdentifier"] = f"{identity['issuer']}|{identity['subject']}"
    return identity


def _bad_acting_user(why: str) -> RequestError:
    return RequestError(400, "InvalidActingUser", f"Invalid identity to act as: {why}")


def refusal(error: AuthenticationError) -> RequestError:
    """The HTTP answer to a refused token."""
    status = 400 if error.code == "AuthProviderDiscoveryFailed" else 401
    return RequestError(status, error.code, error.message)
