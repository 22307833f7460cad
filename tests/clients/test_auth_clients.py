"""The official clients' auth against a real pyconvex server and a real issuer on loopback.

npm ``convex@1.48.0``: ``ConvexClient.setAuth`` (confirmation, refresh to another
user, sign-out, each bad token refused with the client going on signed out) and
``ConvexHttpClient.setAuth``. PyPI ``convex==0.8.1``: ``set_auth`` / ``clear_auth``
over the sync protocol and ``set_auth`` on the legacy HTTP client.

The PyPI sync client retries a refused token forever with its call blocked
(protocol.md 3.8), so its bad tokens are tested through its HTTP client.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from convex import ConvexClient
from convex.http_client import ConvexHttpClient

from pyconvex.application import Backend
from pyconvex.auth.config import OidcProvider
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence
from tests.auth.issuer import Issuer, bad_tokens, running_issuer
from tests.server import auth_app

NODE = Path(__file__).parent / "node"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture
def oidc_server_url(issuer: Issuer) -> Iterator[str]:
    backend = Backend(
        MemoryPersistence(),
        Registry.from_modules({"auth": auth_app}),
        auth_providers=(OidcProvider(issuer.url, "convex"),),
    )
    port = _free_port()
    config = uvicorn.Config(create_app(backend), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    backend.close()


def test_the_npm_clients_sign_in_refresh_sign_out_and_refuse_bad_tokens(
    oidc_server_url: str, issuer: Issuer, tmp_path: Path
) -> None:
    bad = bad_tokens(issuer)
    tokens = {"good": issuer.token("ada"), "other": issuer.token("bob"), "bad": bad}
    (tmp_path / "tokens.json").write_text(json.dumps(tokens))
    result = subprocess.run(
        ["node", "auth_client.mjs", oidc_server_url, str(tmp_path / "tokens.json")],
        cwd=NODE,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["signedIn"]["changes"][0] is True
    assert out["signedIn"]["seen"][0] is None and out["signedIn"]["seen"][-1] == "ada"
    assert out["afterSignOut"] is None
    for case in bad:
        assert out["bad"][case]["events"][-1] is False, case
        assert out["bad"][case]["mutation"] == "refused", case
        assert out["bad"][case]["whoami"] is None, case
        refusal = json.loads(out["badHttp"][case])  # the JS HTTP client throws the body
        assert refusal["code"] in {"InvalidAuthHeader", "NoAuthProvider", "Unauthenticated"}
    assert out["httpIdentity"] == "ada"
    assert out["notes"] == [[f"{issuer.url}|ada", "from js"]]


_SERVER = """
import sys, uvicorn
from pyconvex.application import Backend
from pyconvex.auth.config import CustomJwtProvider
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence
from tests.server import auth_app

provider = CustomJwtProvider(sys.argv[2], sys.argv[3], "RS256", "convex")
backend = Backend(
    MemoryPersistence(), Registry.from_modules({"auth": auth_app}), auth_providers=(provider,)
)
uvicorn.run(create_app(backend), host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


@pytest.fixture
def custom_jwt_process_url(issuer: Issuer) -> Iterator[str]:
    """A server in its own process (the PyPI client holds the GIL while it blocks).

    Its provider is a custom JWT one with the issuer's keys inline (a data URI), so it
    never calls back into this process while the client blocks it.
    """
    port = _free_port()
    jwks = base64.b64encode(json.dumps(issuer.jwks()).encode()).decode()
    data_uri = f"data:application/json;base64,{jwks}"
    root = Path(__file__).parents[2]
    command = [sys.executable, "-c", _SERVER, str(port), issuer.url, data_uri]
    process = subprocess.Popen(command, cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.post(f"{url}/api/query", json={"path": "auth:notes", "args": {}})
            break
        except httpx.ConnectError:
            assert process.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_the_pypi_clients_sign_in_and_out(custom_jwt_process_url: str, issuer: Issuer) -> None:
    client = ConvexClient(custom_jwt_process_url)
    assert client.query("auth:whoami") is None
    client.set_auth(issuer.token("ada", email="ada@x.org"))
    identity = client.query("auth:whoami")
    assert identity["tokenIdentifier"] == f"{issuer.url}|ada"
    assert identity["email"] == "ada@x.org"  # a custom JWT's claims, as they are
    client.mutation("auth:post", {"text": "from python"})
    client.clear_auth()
    assert client.query("auth:whoami") is None
    http = ConvexHttpClient(custom_jwt_process_url)
    http.set_auth(issuer.token("bob"))
    assert http.query("auth:whoami")["subject"] == "bob"
    for case, token in bad_tokens(issuer).items():
        http.set_auth(token)
        with pytest.raises(Exception, match="401") as refused:
            http.query("auth:whoami")
        assert "InvalidAuthHeader" in str(refused.value) or "NoAuthProvider" in str(
            refused.value
        ), case
    assert ConvexHttpClient(custom_jwt_process_url).query("auth:notes") == [
        [f"{issuer.url}|ada", "from python"]
    ]
