"""The chat example's frontend in a real browser: Debian's chromium, driven by playwright-core.

Marked ``browser`` (excluded by default; run with ``pytest -m browser``). One
pyconvex server process serves the example (tests/examples/chat_web_server.py);
the frontend is built for it with Vite (production build) and served as static
files; each scenario (tests/examples/web/scenarios.mjs) opens fresh browser
contexts and saves a screenshot of every step under ``test-artifacts/browser/``.

pyconvex has no sign-in yet, so the browser is signed out: other users act
through the test server's ``/_test/run`` route. Still to come once the built-in
sign-in lands (web/src/auth.tsx is where it plugs in): two signed-in users
posting from their windows (with the optimistic update), reactions, edit and
delete from the UI with ownership enforced (another user's message has no
Edit/Delete and the server refuses it), the guide's MessageForm posting, and
Clerk-shaped third-party auth (``ConvexProviderWithAuth`` with a ``useAuth``
backed by the local OpenID provider, audience ``convex``, including refresh).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clients.conftest import _free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parents[2]
CHAT = ROOT / "examples" / "chat"
DRIVER = Path(__file__).parent / "web"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def backend_url() -> Iterator[str]:
    """The example on a real pyconvex server process, on a free port."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.examples.chat_web_server", str(port)], cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.post(f"{url}/api/query", json={"path": "channels:list", "args": {}})
            break
        except httpx.ConnectError:
            assert process.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def app_url(backend_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The frontend, built by Vite for ``backend_url`` and served as static files."""
    vite = CHAT / "node_modules" / ".bin" / "vite"
    for needed in (vite, DRIVER / "node_modules" / "playwright-core", CHROMIUM):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: run ./scripts/install")
    dist = tmp_path_factory.mktemp("chat-web")
    subprocess.run(
        [str(vite), "build", "--outDir", str(dist), "--emptyOutDir", "--logLevel", "warn"],
        cwd=CHAT / "web",
        env={**os.environ, "VITE_CONVEX_URL": backend_url},
        check=True,
        timeout=300,
    )
    handler = functools.partial(_QuietFiles, directory=str(dist))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _png(width: int, height: int) -> bytes:
    """A small gradient PNG, made here (no image library needed)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def scenario(name: str, app_url: str, backend_url: str) -> dict[str, Any]:
    """Run one scenario of scenarios.mjs; its result, after checking it passed."""
    shutil.rmtree(ARTIFACTS / name, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    image = ARTIFACTS / "upload.png"
    image.write_bytes(_png(48, 32))
    config = {
        "app": app_url,
        "backend": backend_url,
        "artifacts": str(ARTIFACTS),
        "image": str(image),
        "chromium": str(CHROMIUM),
    }
    result = subprocess.run(
        ["node", "scenarios.mjs", name, json.dumps(config)],
        cwd=DRIVER,
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = result.stdout.strip().splitlines()
    assert lines, f"no result from {name}: {result.stderr}"
    outcome: dict[str, Any] = json.loads(lines[-1])
    assert outcome["ok"], outcome.get("error", "") + "\n" + result.stderr
    assert outcome["screenshots"], "every step saves a screenshot"
    for shot in outcome["screenshots"]:
        assert Path(shot).read_bytes().startswith(b"\x89PNG"), shot
    return outcome


def test_what_others_post_shows_up_live_in_both_windows(app_url: str, backend_url: str) -> None:
    outcome = scenario("liveMessages", app_url, backend_url)
    assert len(outcome["screenshots"]) == 10


def test_load_more_brings_older_messages(app_url: str, backend_url: str) -> None:
    outcome = scenario("pagination", app_url, backend_url)
    assert outcome["facts"]["counts"] == [15, 25, 26]


def test_search_finds_messages_as_you_type(app_url: str, backend_url: str) -> None:
    outcome = scenario("search", app_url, backend_url)
    assert sorted(outcome["facts"]["found"]) == ["Apple juice", "apple pie"]


def test_an_uploaded_image_shows_in_both_windows(app_url: str, backend_url: str) -> None:
    outcome = scenario("upload", app_url, backend_url)
    facts = outcome["facts"]
    assert facts["uploaderSize"] == facts["watcherSize"] == [48, 32]
    assert facts["src"].startswith(backend_url + "/api/storage/")


def test_a_task_moves_between_columns_in_both_windows(app_url: str, backend_url: str) -> None:
    outcome = scenario("tasks", app_url, backend_url)
    assert len(outcome["screenshots"]) == 8


def test_the_guide_snippets_run_against_the_example(app_url: str, backend_url: str) -> None:
    outcome = scenario("guide", app_url, backend_url)
    assert outcome["facts"]["email"]["subject"] == "Hello"
