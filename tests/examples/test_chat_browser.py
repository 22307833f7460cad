"""The chat example's frontend in a real browser: Debian's chromium, driven by playwright-core.

Marked ``browser`` (excluded by default; run with ``pytest -m browser``). One
pyconvex server process serves the example (tests/examples/chat_web_server.py);
the frontend is built for it with Vite (production build) and served as static
files; each scenario (tests/examples/web/scenarios.mjs) opens fresh browser
contexts and saves a screenshot of every step under ``test-artifacts/browser/``.

People sign in for real: with the app's form (pyconvex's built-in sign-in), or,
on ``clerk-like.html``, through a local OpenID provider (npm ``oidc-provider``)
wired the way the guide wires Clerk. Its ID tokens live 5 seconds and the server
allows no clock skew, so staying signed in means the client really refreshes.
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

from tests.auth.oidc_provider import OidcProvider, running_oidc_provider
from tests.clients.conftest import _free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parents[2]
CHAT = ROOT / "examples" / "chat"
DRIVER = Path(__file__).parent / "web"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
ID_TOKEN_SECONDS = 5


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A static file server (its URL and folder); the frontend is built into it later."""
    dist = tmp_path_factory.mktemp("chat-web")
    handler = functools.partial(_QuietFiles, directory=str(dist))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", dist
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def oidc(site: tuple[str, Path]) -> Iterator[OidcProvider]:
    """The outside OpenID provider: a public client ``convex`` for clerk-like.html."""
    client = {
        "client_id": "convex",
        "token_endpoint_auth_method": "none",
        "redirect_uris": [f"{site[0]}clerk-like.html"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    }
    with running_oidc_provider([client], ttl={"IdToken": ID_TOKEN_SECONDS}) as provider:
        yield provider


@pytest.fixture(scope="module")
def backend_url(oidc: OidcProvider) -> Iterator[str]:
    """The example on a real pyconvex server process, on a free port, trusting ``oidc``."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.examples.chat_web_server", str(port), oidc.issuer],
        cwd=ROOT,
        # A token is refused the moment it expires: only a refreshing client stays signed in.
        env={**os.environ, "PYCONVEX_AUTH_CLOCK_SKEW_SECONDS": "0"},
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
def app_url(backend_url: str, oidc: OidcProvider, site: tuple[str, Path]) -> str:
    """The frontend (both pages), built by Vite for ``backend_url`` and ``oidc``."""
    vite = CHAT / "node_modules" / ".bin" / "vite"
    for needed in (vite, DRIVER / "node_modules" / "playwright-core", CHROMIUM):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: run ./scripts/install-browser")
    url, dist = site
    subprocess.run(
        [str(vite), "build", "--outDir", str(dist), "--emptyOutDir", "--logLevel", "warn"],
        cwd=CHAT / "web",
        env={**os.environ, "VITE_CONVEX_URL": backend_url, "VITE_OIDC_ISSUER": oidc.issuer},
        check=True,
        timeout=300,
    )
    return url


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


def test_two_signed_in_users_see_each_other_live_and_only_authors_edit(
    app_url: str, backend_url: str
) -> None:
    outcome = scenario("liveMessages", app_url, backend_url)
    facts = outcome["facts"]
    assert facts["forced"] == [["error", "Not authorized"], ["error", "Not authorized"]]
    assert facts["loads"] == [1, 1], "nothing was reloaded"
    assert len(outcome["screenshots"]) == 16


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
    assert outcome["facts"]["posted"] == "Ada: second, from the guide's MessageForm"
    assert outcome["facts"]["email"]["subject"] == "Hello"


def test_clerk_shaped_sign_in_with_an_openid_provider_refreshes_its_tokens(
    app_url: str, backend_url: str, oidc: OidcProvider
) -> None:
    outcome = scenario("clerkLike", app_url, backend_url)
    tokens = outcome["facts"]["tokens"]
    assert tokens[0]["grant"] == "authorization_code"
    refreshes = [t for t in tokens if t["grant"] == "refresh_token"]
    assert len(refreshes) >= 2
    assert all(t["status"] == 200 and t["aud"] == "convex" for t in tokens)
    assert all(t["exp"] - t["iat"] == ID_TOKEN_SECONDS for t in tokens)
    assert [t["iat"] for t in tokens] == sorted(t["iat"] for t in tokens)
