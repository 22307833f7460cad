"""A real ``pyconvex dev`` subprocess on a free port, for the CLI tests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["DevServer", "free_port", "make_project", "write"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write(path: Path, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip())


def make_project(root: Path, port: int, files: dict[str, str]) -> Path:
    """A project with ``pyconvex.json`` (dev on ``port``) and ``convex/<name>`` files."""
    root.mkdir(parents=True, exist_ok=True)
    config = {"functions": "convex", "deployments": {"dev": {"url": f"http://127.0.0.1:{port}"}}}
    (root / "pyconvex.json").write_text(json.dumps(config))
    for name, source in files.items():
        write(root / "convex" / name, source)
    return root


class DevServer:
    """``python -m pyconvex dev PROJECT --port PORT``; its output is collected line by line."""

    def __init__(self, project: Path, port: int | None = None, *extra: str) -> None:
        self.project = project
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pyconvex", "dev", str(project), "--port", str(self.port)]
            + list(extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._wait_until_serving()

    @property
    def admin_key(self) -> str:
        return (self.project / ".pyconvex" / "admin_key").read_text().strip()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.post(f"{self.url}/api/query_ts", timeout=2)
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("pyconvex dev did not start:\n" + self.output) from None
                time.sleep(0.02)

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, text: str, *, after: int = 0, timeout: float = 10) -> int:
        """Wait until a line from index ``after`` on contains ``text``; the index after it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(after, len(self.lines)):
                    if text in self.lines[index]:
                        return index + 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {text!r} in the output of dev:\n" + "\n".join(self.lines)
                    )
                self._changed.wait(left)

    def call(self, kind: str, path: str, args: dict[str, object] | None = None) -> httpx.Response:
        return httpx.post(f"{self.url}/api/{kind}", json={"path": path, "args": args or {}})

    def value(self, kind: str, path: str, args: dict[str, object] | None = None) -> object:
        body = self.call(kind, path, args).json()
        assert body["status"] == "success", body
        return body["value"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> DevServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
