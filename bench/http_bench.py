"""HTTP benchmark: durable mutations/s through the HTTP API against a no-op ceiling.

One ``pyconvex`` server process serves the chat example (SQLite, fsync on) and,
on the same server, a no-op endpoint. A separate Node process drives each with
50 keep-alive connections in a closed loop (one request in flight per
connection), first the no-op (the ceiling of the HTTP stack on this machine),
then ``POST /api/mutation tasks:create`` (a validated, indexed, durable insert).

Usage: ``python bench/http_bench.py [--connections 50] [--seconds 10]``.
Prints numbers only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SERVER = """
import sys, uvicorn
from starlette.responses import Response
from starlette.routing import Route
from pyconvex.application import Backend
from pyconvex.server.app import create_app

backend = Backend.open(sys.argv[2], data_path=sys.argv[3])
app = create_app(backend)

async def noop(request):
    await request.body()
    return Response(b'{"status":"success","value":null,"logLines":[]}',
                    media_type="application/json")

app.router.routes.insert(0, Route("/noop", noop, methods=["POST"]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _load(url: str, body: str, connections: int, seconds: float) -> float:
    output = subprocess.run(
        ["node", str(ROOT / "bench" / "http_load.mjs"), url, body, str(connections), str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(output.stdout)
    if result["errors"]:
        raise RuntimeError(f"{result['errors']} failed requests against {url}")
    return float(result["requests"] / result["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    options = parser.parse_args()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as directory:
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SERVER,
                str(port),
                str(ROOT / "examples/chat/convex"),
                str(Path(directory) / "bench.sqlite3"),
            ],
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.post(f"{base}/noop", content=b"{}")
                    break
                except httpx.ConnectError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.1)
            mutation = json.dumps(
                {"path": "tasks:create", "args": {"title": "benchmark"}, "format": "json"}
            )
            ceiling = _load(f"{base}/noop", mutation, options.connections, options.seconds)
            rate = _load(f"{base}/api/mutation", mutation, options.connections, options.seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"no-op endpoint, same server ({options.connections} connections): {ceiling:9,.0f} req/s")
    print(f"HTTP mutations, durable (tasks:create):           {rate:9,.0f} mutations/s")
    print(f"ratio mutations / no-op:                           {rate / ceiling:9.1%}")


if __name__ == "__main__":
    main()
