"""Admin authentication (``Authorization: Convex <admin key>``) and admin endpoints.

Admin requests may call internal functions and use the admin endpoints:

* ``GET /api/admin/env`` → ``{"variables": {name: value}}``;
* ``POST /api/admin/env`` with ``{"changes": [{"name", "value" | null}]}`` sets or removes
  variables in one transaction and returns them all;
* ``GET /api/admin/logs?cursor=N&wait=S`` → ``{"entries": [...], "cursor": M}``: function
  runs after ``cursor``, waiting up to ``S`` seconds (long polling) for new ones.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pyconvex.application import Backend
from pyconvex.database.environment import (
    EnvironmentVariableError,
    read_environment,
    set_environment_variables,
)
from pyconvex.server.errors import RequestError

__all__ = ["is_admin", "require_admin", "routes"]


def is_admin(request: Request, backend: Backend) -> bool:
    """Whether the request carries this deployment's admin key.

    Raises:
        RequestError: it carries an admin key, but the wrong one (403 ``BadDeployKey``).
    """
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme != "Convex":
        return False
    # ``Convex <key>:<base64 identity>`` acts as a user (see server/auth.py).
    key = key.strip().partition(":")[0]
    if not backend.check_admin_key(key):
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


def routes(backend: Backend) -> list[Route]:
    """Admin endpoints: environment variables and the function-run log."""
    return [
        Route("/api/admin/env", _env_endpoint(backend), methods=["GET", "POST"]),
        Route("/api/admin/logs", _logs_endpoint(backend), methods=["GET"]),
    ]


def _env_endpoint(backend: Backend) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            require_admin(request, backend)
            if request.method == "GET":
                snapshot = backend.database.begin(writable=False)
                return JSONResponse({"variables": dict(sorted(read_environment(snapshot).items()))})
            changes = _parse_changes(await request.body())
            variables = await asyncio.to_thread(
                set_environment_variables, backend.database, changes
            )
        except RequestError as error:
            return error.response()
        except EnvironmentVariableError as error:
            return RequestError(400, error.short, error.message).response()
        return JSONResponse({"variables": variables})

    return endpoint


def _parse_changes(raw: bytes) -> dict[str, str | None]:
    try:
        body = json.loads(raw)
        changes = body["changes"]
        parsed = {str(item["name"]): item.get("value") for item in changes}
    except (ValueError, KeyError, TypeError) as error:
        raise RequestError(
            400,
            "BadJsonBody",
            'Expected {"changes": [{"name": ..., "value": "..." or null}]}: ' + str(error),
        ) from None
    return parsed


def _logs_endpoint(backend: Backend) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            require_admin(request, backend)
            cursor = int(request.query_params.get("cursor", "0"))
            wait = min(float(request.query_params.get("wait", "0")), 60.0)
        except RequestError as error:
            return error.response()
        except ValueError:
            return RequestError(400, "BadRequest", "cursor and wait must be numbers").response()
        logs = backend.executor.logs
        runs, next_cursor = await logs.wait(cursor, wait) if wait > 0 else logs.since(cursor)
        return JSONResponse({"entries": [run.to_json() for run in runs], "cursor": next_cursor})

    return endpoint
