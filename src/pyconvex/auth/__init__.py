"""Who is calling: verifying user tokens (JWTs) against the deployment's auth providers.

* :mod:`~pyconvex.auth.config`: the providers of ``convex/auth_config.py``;
* :mod:`~pyconvex.auth.jwks`: providers' keys by OpenID discovery and JWKS, cached;
* :mod:`~pyconvex.auth.verifier`: a token's checks and the identity it proves.

This package knows nothing of the database or of functions: the server verifies a
token and hands the identity to the executor.
"""

from __future__ import annotations

from pyconvex.auth.config import (
    AuthConfigError,
    CustomJwtProvider,
    OidcProvider,
    Provider,
    parse_auth_config,
    parse_providers,
)
from pyconvex.auth.errors import AuthenticationError
from pyconvex.auth.jwks import KeySetCache
from pyconvex.auth.verifier import TokenVerifier, VerifiedToken

__all__ = [
    "AuthConfigError",
    "AuthenticationError",
    "CustomJwtProvider",
    "KeySetCache",
    "OidcProvider",
    "Provider",
    "TokenVerifier",
    "VerifiedToken",
    "parse_auth_config",
    "parse_providers",
]
