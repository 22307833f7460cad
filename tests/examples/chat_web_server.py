"""The chat example on a real server process, for the browser tests.

``python -m tests.examples.chat_web_server PORT [OIDC_ISSUER]`` serves
examples/chat/convex (in-memory database) like ``pyconvex dev``. Users sign in
for real: built-in sign-in at ``/api/auth/*``, and, given ``OIDC_ISSUER``, an
outside OpenID provider, trusted the way a deployment trusts Clerk (the
``CLERK_JWT_ISSUER_DOMAIN`` variable the example's auth_config.py reads).

The deployment's ``EMAIL_API_URL`` points at ``POST /_test/email`` here, a
stand-in for the email service, so the example's ``sendEmail`` action talks to
this server instead of the internet; ``GET /_test/email`` lists what it received.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from pyconvex.application import Backend
from pyconvex.database.environment import set_environment_variables
from pyconvex.server.app import create_app

CHAT = Path(__file__).parents[2] / "examples" / "chat" / "convex"


def build(backend: Backend) -> Starlette:
    """The example's ASGI app with the fake email service in front."""
    emails: list[Any] = []

    async def email(request: Request) -> JSONResponse:
        if request.method == "POST":
            emails.append(await request.json())
            return JSONResponse({})
        return JSONResponse(emails)

    return Starlette(
        routes=[
            Route("/_test/email", email, methods=["GET", "POST"]),
            Mount("/", create_app(backend)),
        ]
    )


def main() -> None:
    """Serve on 127.0.0.1:PORT until terminated."""
    port = int(sys.argv[1])
    issuer = sys.argv[2] if len(sys.argv) > 2 else None
    backend = Backend.open(CHAT, data_path=":memory:")
    url = f"http://127.0.0.1:{port}"
    backend.set_url(url)  # upload and file URLs point here; it issues sign-in tokens
    # Outside services are this server's test routes: no test ever reaches the internet.
    variables = {
        "EMAIL_API_URL": f"{url}/_test/email",
        "SENDGRID_API_KEY": "test-key",
        "AI_API_URL": f"{url}/_test/ai",
    }
    if issuer is not None:
        variables["CLERK_JWT_ISSUER_DOMAIN"] = issuer
    set_environment_variables(backend.database, variables)
    backend.reload()  # auth_config.py reads the variables when the app loads, as on a push
    try:
        uvicorn.run(build(backend), host="127.0.0.1", port=port, log_level="warning")
    finally:
        backend.close()


if __name__ == "__main__":
    main()
