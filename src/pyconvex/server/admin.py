"""Admin authentication: ``Authorization: Convex <admin key>``.

Admin requests may call internal functions and use the admin endpoints
(environment variables, logs, code pushes, import and export).
"""

from __future__ import annotations

from starlette.requests import Request

from pyconvex.application import Backend
from pyconvex.server.errors import RequestError

__all__ = ["is_admin", "require_admin"]


def is_admin(request: Request, backend: Backend) -> bool:
    """Whether the request carries this deployment's admin key.

    Raises:
        RequestError: it carries an admin key, but the wrong one (403 ``BadDeployKey``).
    """
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme != "Convex":
        return False
    if not backend.check_admin_key(key.strip()):
        raise RequestError(
            403,
            "BadDeployKey",
            "The provided deploy key was invalid for this deployment. Double check that the "
            "environment this key was generated for matches the desired deployment.",
        )
    return True


def require_admin(request: Request, backend: Backend) -> None:
    """Refuse requests without this deployment's admin key.

    Raises:
        RequestError: 401 without an admin key, 403 with a wrong one.
    """
    if not is_admin(request, backend):
        raise RequestError(
            401,
            "MissingAdminKey",
            "This endpoint requires the deployment's admin key: send the header "
            "'Authorization: Convex <admin key>'.",
        )
