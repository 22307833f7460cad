"""A real pyconvex server on a free loopback port, for the official clients."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from pyconvex.application import Backend
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence
from tests.server import api_app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server_url() -> Iterator[str]:
    backend = Backend(MemoryPersistence(), Registry.from_modules({"api": api_app}))
    port = _free_port()
    config = uvicorn.Config(create_app(backend), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    backend.close()


_SERVER = """
import sys, uvicorn
from pyconvex.application import Backend
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence
from tests.server import api_app

backend = Backend(MemoryPersistence(), Registry.from_modules({"api": api_app}))
uvicorn.run(create_app(backend), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@pytest.fixture
def server_process_url() -> Iterator[str]:
    """A server in its own process, for clients that hold the GIL while they block.

    (The PyPI client's Rust core does; a server thread in the test process would starve.)
    """
    import subprocess
    import sys
    from pathlib import Path

    import httpx

    port = _free_port()
    root = Path(__file__).parents[2]
    process = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)], cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.post(f"{url}/api/query", json={"path": "api:count", "args": {}})
            break
        except httpx.ConnectError:
            assert process.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)
