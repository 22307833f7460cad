"""Real ``pyconvex`` server processes on one PostgreSQL database, and a load balancer.

:class:`Node` serves ``tests/server/api_app.py`` (and, if asked, more test modules)
from PostgreSQL in a process of its own, with a local or an S3 file store.
:class:`Balancer` is a TCP proxy that sends each new connection to the first
node that accepts it, so clients reconnecting after a node died land on a
survivor, as behind a real load balancer.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import httpx

ROOT = Path(__file__).parents[2]
NODE_CLIENTS = ROOT / "tests" / "clients" / "node"

_SERVER = """
import importlib, json, sys, uvicorn
from pyconvex.application import Backend
from pyconvex.files.location import open_file_store
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.storage.postgres import PostgresPersistence

port, database_url, files = int(sys.argv[1]), sys.argv[2], sys.argv[4]
modules = json.loads(sys.argv[3])
registry = Registry.from_modules({name: importlib.import_module(m) for name, m in modules.items()})
backend = Backend(
    PostgresPersistence(database_url),
    registry,
    file_store=open_file_store(files) if files else None,
    url=f"http://127.0.0.1:{port}",
)
uvicorn.run(create_app(backend), host="127.0.0.1", port=port, log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Node:
    """One server process serving the deployment in ``database_url``.

    Args:
        database_url: the deployment's PostgreSQL database.
        modules: more app modules, ``{"name": "dotted.module"}``, beside ``api``.
        files: where files are stored (``s3://bucket/prefix``; default a local temporary folder).
        env: more environment variables for the process (``PYCONVEX_*`` knobs, S3 settings).
    """

    def __init__(
        self,
        database_url: str,
        *,
        modules: dict[str, str] | None = None,
        files: str = "",
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = {"api": "tests.server.api_app", **(modules or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(self.port), database_url, json.dumps(app), files],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{self.url}/api/query", json={"path": "api:count", "args": {}})
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the node did not start") from None
                time.sleep(0.05)

    def call(self, kind: str, path: str, args: dict[str, object] | None = None) -> object:
        """Run a function over the HTTP API and return its value."""
        response = httpx.post(f"{self.url}/api/{kind}", json={"path": path, "args": args or {}})
        body = response.json()
        assert body["status"] == "success", body
        return body["value"]

    def kill(self) -> None:
        """SIGKILL: the node dies mid-whatever, as in a crash."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class Balancer:
    """A TCP proxy on a free port in front of ``nodes``, tried in order per connection."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = self._connect()
            if upstream is None:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    def _connect(self) -> socket.socket | None:
        for node in self.nodes:
            if node.process.poll() is not None:
                continue
            try:
                return socket.create_connection(("127.0.0.1", node.port), timeout=2)
            except OSError:
                continue
        return None

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            source.settimeout(None)
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            # Either side gone: close both, so the client sees the connection drop.
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def __enter__(self) -> Balancer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


T = TypeVar("T")


def eventually(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 10) -> T:
    """Poll ``read`` until ``done``: another node learns of a commit within milliseconds."""
    deadline = time.monotonic() + timeout
    while not done(value := read()):
        assert time.monotonic() < deadline, value
        time.sleep(0.01)
    return value
