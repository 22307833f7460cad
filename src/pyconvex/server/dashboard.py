"""The dashboard UI at ``/dashboard``: static files shipped inside the package.

The UI is hand-written JavaScript modules and CSS in ``dashboard_static/`` (no
build step, so serving it needs no Node). It signs in with the admin key, kept
in the tab's ``sessionStorage`` and sent as ``Authorization: Convex <key>`` to
the admin API (:mod:`pyconvex.server.dashboard_api`); the pages themselves are
public, like any login page, and hold no data.

Every response carries a strict Content-Security-Policy (scripts only from
this origin, no inline script, no framing by other sites): the dashboard shows
documents written by anyone, so a value that looks like markup must never run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ASSETS_DIR", "DASHBOARD_PATH", "routes"]

#: Where the UI's files are, inside the installed package.
ASSETS_DIR: Final = Path(__file__).parent / "dashboard_static"
#: The URL path the UI is served under.
DASHBOARD_PATH: Final = "/dashboard"

_HEADERS: Final = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; "
        b"img-src 'self' data: blob:; media-src 'self' blob:; frame-src 'self'; "
        b"object-src 'none'; base-uri 'none'; frame-ancestors 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    # A new server version may ship new files: always revalidate (ETags make it cheap).
    (b"cache-control", b"no-cache"),
]


class _SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def routes() -> list[BaseRoute]:
    """The route serving the UI (``/dashboard/`` is its page; ``/dashboard`` redirects there)."""
    files = StaticFiles(directory=ASSETS_DIR, html=True)
    return [Mount(DASHBOARD_PATH, app=_SecurityHeaders(files), name="dashboard")]
