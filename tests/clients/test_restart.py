"""A pending mutation survives a server restart and applies exactly once (official JS client)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[2]
SERVER = """
import sys, uvicorn
from pyconvex.application import Backend
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.storage.sqlite import SqlitePersistence
from tests.server import api_app

backend = Backend(SqlitePersistence(sys.argv[2]), Registry.from_modules({"api": api_app}))
uvicorn.run(create_app(backend), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def start(port: int, database: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(database)], cwd=ROOT)
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.post(f"http://127.0.0.1:{port}/api/query", json={"path": "api:count", "args": {}})
            return process
        except httpx.ConnectError:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)


def test_a_mutation_pending_across_a_restart_applies_once(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    database = tmp_path / "restart.sqlite3"
    server = start(port, database)
    client = subprocess.Popen(
        ["node", "restart_client.mjs", f"http://127.0.0.1:{port}"],
        cwd=ROOT / "tests" / "clients" / "node",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None
        while (line := client.stdout.readline()) and line.strip() != "sent":
            pass
        assert line.strip() == "sent"
        time.sleep(0.4)  # the mutation is running (it takes 0.9 s, under the 1 s limit)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        server = start(port, database)  # same port, same data
        output, errors = client.communicate(timeout=60)
        assert client.returncode == 0, errors[-2000:]
        result = json.loads(output.strip().splitlines()[-1])
        assert result["count"] == 1
        notes = httpx.post(
            f"http://127.0.0.1:{port}/api/query", json={"path": "api:texts", "args": {}}
        ).json()["value"]
        assert notes == ["once"]
    finally:
        client.kill() if client.poll() is None else None
        server.terminate()
        server.wait(timeout=10)
