"""The chat example's frontend sign-in helper (examples/chat/web/src/pyconvexAuth.ts).

Compiled to JavaScript by the example's own esbuild (Vite's), then driven by Node with
the official npm ``ConvexClient``: sign-up, ``setAuth`` with the
helper's ``fetchAccessToken`` (confirmed, then refreshed as the client asks), the
example's functions as the signed-in user, shared refreshes, the signed-in subject and
change notifications, sign-out.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from pyconvex.application import Backend
from pyconvex.server.app import create_app

ROOT = Path(__file__).parents[2]
APP = ROOT / "examples" / "chat" / "convex"
HELPER = ROOT / "examples" / "chat" / "web" / "src" / "pyconvexAuth.ts"


@pytest.fixture
def chat_url() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    backend = Backend.open(APP, data_path=":memory:")
    backend.set_url(url)  # the issuer of its sign-in tokens, as `pyconvex dev` sets it
    server = uvicorn.Server(uvicorn.Config(create_app(backend), port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    backend.close()


@pytest.fixture
def helper_module(tmp_path: Path) -> Path:
    """pyconvexAuth.ts as an ES module Node can import (Node runs no TypeScript)."""
    esbuild = ROOT / "examples" / "chat" / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.fail(f"{esbuild} is missing: run ./scripts/install")
    out = tmp_path / "pyconvexAuth.mjs"
    subprocess.run(
        [str(esbuild), str(HELPER), "--format=esm", f"--outfile={out}", "--log-level=warning"],
        check=True,
        timeout=60,
    )
    return out


def test_the_helper_signs_in_the_official_client(chat_url: str, helper_module: Path) -> None:
    result = subprocess.run(
        ["node", "auth_helper.mjs", chat_url, str(helper_module)],
        cwd=ROOT / "tests" / "clients" / "node",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["confirmed"] is True
    assert out["messages"] == [["hello", "Ada"]]
    assert out["sharedRefresh"] is True
    assert out["wrongPassword"] == "InvalidCredentials"
    assert out["signedOut"] == {"isSignedIn": False, "token": None}
    assert out["refreshAfterSignOut"] == 401
    assert out["sessionEvents"][0] is True and out["sessionEvents"][-1] is False
    assert out["subject"] == {"signedIn": "string", "afterRefreshes": True, "afterSignOut": None}
    assert out["notified"] is True
