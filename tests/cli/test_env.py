"""``pyconvex env`` against a running ``pyconvex dev``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pyconvex.cli import main
from tests.cli.dev_server import DevServer, free_port, make_project

READER = """
    from pyconvex import env, query

    @query
    def greeting(ctx):
        return env.get("GREETING")
"""


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DevServer]:
    port = free_port()
    project = make_project(tmp_path / "app", port, {"settings.py": READER})
    # Everything comes from the project: the URL from pyconvex.json, the key
    # from .pyconvex/admin_key.
    monkeypatch.chdir(project)
    monkeypatch.delenv("PYCONVEX_ADMIN_KEY", raising=False)
    with DevServer(project, port) as dev:
        yield dev


def env(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["env", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_set_get_list_remove_round_trip(server: DevServer) -> None:
    assert env("list") == (0, "", f"No environment variables set on {server.url}\n")
    assert env("set", "GREETING", "hello world")[0] == 0
    assert env("set", "OTHER=a=b")[0] == 0  # NAME=value, split at the first "="
    assert env("set", "PIPED", input="from stdin\n")[0] == 0
    assert env("get", "GREETING")[:2] == (0, "hello world\n")
    assert env("list")[:2] == (0, "GREETING=hello world\nOTHER=a=b\nPIPED=from stdin\n")
    assert server.value("query", "settings:greeting") == "hello world"

    code, _, stderr = env("remove", "GREETING")
    assert code == 0 and "Removed GREETING" in stderr
    assert env("rm", "OTHER")[0] == 0
    assert env("unset", "NEVER_SET")[0] == 0  # removing nothing succeeds, as in Convex
    assert env("list")[1] == "PIPED=from stdin\n"
    code, _, stderr = env("get", "GREETING")
    assert code == 1 and 'Environment variable "GREETING" not found' in stderr
    assert server.value("query", "settings:greeting") is None


def test_env_failures_are_one_clear_line(server: DevServer) -> None:
    code, _, stderr = env("set", "1BAD", "x")
    assert code == 1 and len(stderr.strip().splitlines()) == 1
    code, _, stderr = env("list", "--admin-key", "pyconvex-admin|wrong")
    assert code == 1 and "admin key was refused" in stderr
    code, _, stderr = env("list", "--url", f"http://127.0.0.1:{free_port()}")
    assert code == 1 and "Cannot reach the deployment" in stderr
    code, _, stderr = env("list", "--prod")
    assert code == 1 and 'No "prod" deployment in' in stderr
    assert "Traceback" not in stderr


def test_a_watched_query_reruns_when_its_variable_changes(server: DevServer) -> None:
    import subprocess
    import sys

    watcher = subprocess.Popen(
        [sys.executable, "-m", "pyconvex", "run", "--watch", "settings:greeting"],
        cwd=server.project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().strip() == "null"  # not set yet
        assert env("set", "GREETING", "hello")[0] == 0
        assert watcher.stdout.readline().strip() == '"hello"'  # the subscription re-ran
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
        for stream in (watcher.stdout, watcher.stderr):
            if stream is not None:
                stream.close()
