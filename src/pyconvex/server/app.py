"""The ASGI application: routes, CORS and path normalisation.

``create_app(backend)`` returns a Starlette app serving the HTTP function API at
the host root. Browsers need CORS (the clients' ``Convex-Client`` and
``Authorization`` headers trigger a preflight): the request's origin and headers
are mirrored, credentials allowed, preflights cached for a day. Repeated slashes
are collapsed, because the JS client appends ``/api/...`` to the deployment URL
as given (a trailing slash there makes ``//api/...``).
"""

from __future__ import annotations

import re

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from pyconvex.application import Backend
from pyconvex.server import (
    admin,
    admin_code,
    admin_data,
    dashboard,
    dashboard_api,
    metrics,
    signin,
    storage,
    sync,
)
from pyconvex.server.changes import ChangeFeed
from pyconvex.server.http_actions import HttpActionsMiddleware
from pyconvex.server.http_api import routes
from pyconvex.server.sync import SyncHub

__all__ = ["create_app"]

_SLASHES = re.compile(r"/{2,}")


class _CollapseSlashes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "//" in scope["path"]:
            scope = {**scope, "path": _SLASHES.sub("/", scope["path"])}
        await self.app(scope, receive, send)


def create_app(backend: Backend, *, production: bool = False) -> Starlette:
    """The ASGI app serving ``backend``.

    Args:
        production: hide the details of non-``ConvexError`` failures from clients.
    """
    hub = SyncHub(backend, production=production)
    backend.auth.redact = production  # production says less about refused tokens
    deployment_metrics = metrics.DeploymentMetrics(backend, hub)
    app = Starlette(
        routes=[
            *routes(backend, production=production),
            *admin.routes(backend),
            *admin_data.routes(backend),
            *admin_code.routes(backend),
            *storage.routes(backend),
            *signin.routes(backend),
            *sync.routes(hub),
            *dashboard_api.routes(backend, ChangeFeed(backend.database)),
            *metrics.routes(deployment_metrics),
            *dashboard.routes(),
        ],
        middleware=[
            Middleware(_CollapseSlashes),
            # HTTP actions (/http/...) answer their own CORS, so they sit before it.
            Middleware(HttpActionsMiddleware, backend=backend, production=production),
            Middleware(
                CORSMiddleware,
                allow_origin_regex=".*",
                allow_credentials=True,
                allow_methods=["GET", "POST", "OPTIONS", "PATCH", "DELETE", "PUT"],
                allow_headers=["*"],
                max_age=86400,
            ),
        ],
    )
    app.state.sync_hub = hub  # live connections and the shared query cache
    app.state.metrics = deployment_metrics  # what /metrics serves (pyconvex dev --metrics-port)
    return app
