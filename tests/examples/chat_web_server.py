"""The chat example on a real server process, for the browser tests.

``python -m tests.examples.chat_web_server PORT`` serves examples/chat/convex
(in-memory database) like ``pyconvex dev``, plus one route for the tests only:

``POST /_test/run`` with ``{"calls": [{"path", "args", "as"}]}`` runs each
mutation in order, as the user whose identity claims ``as`` gives (or signed
out without one), and answers ``{"values": [...]}``. The tests set data up with
it, and act as a second user beside the browser's.

The deployment's ``EMAIL_API_URL`` points at ``POST /_test/email`` here, so the
example's ``sendEmail`` action talks to this server instead of the internet;
``GET /_test/email`` lists what it received.
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
from pyconvex.values.json import encode_json

CHAT = Path(__file__).parents[2] / "examples" / "chat" / "convex"


def build(backend: Backend) -> Starlette:
    """The example's ASGI app with the test route in front."""

    async def run(request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        values = []
        for call in body["calls"]:
            result = await backend.executor.run_mutation(
                call["path"], call.get("args", {}), identity=call.get("as"), allow_internal=True
            )
            values.append(encode_json(result.value))
        return JSONResponse({"values": values})

    emails: list[Any] = []

    async def email(request: Request) -> JSONResponse:
        if request.method == "POST":
            emails.append(await request.json())
            return JSONResponse({})
        return JSONResponse(emails)

    return Starlette(
        routes=[
            Route("/_test/run", run, methods=["POST"]),
            Route("/_test/email", email, methods=["GET", "POST"]),
            Mount("/", create_app(backend)),
        ]
    )


def main() -> None:
    """Serve on 127.0.0.1:PORT until terminated."""
    port = int(sys.argv[1])
    backend = Backend.open(CHAT, data_path=":memory:")
    url = f"http://127.0.0.1:{port}"
    backend.set_url(url)  # upload and file URLs point here
    # Outside services are this server's test routes: no test ever reaches the internet.
    set_environment_variables(
        backend.database,
        {
            "EMAIL_API_URL": f"{url}/_test/email",
            "SENDGRID_API_KEY": "test-key",
            "AI_API_URL": f"{url}/_test/ai",
        },
    )
    try:
        uvicorn.run(build(backend), host="127.0.0.1", port=port, log_level="warning")
    finally:
        backend.close()


if __name__ == "__main__":
    main()
