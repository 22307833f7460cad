"""``pyconvex logs`` against a running ``pyconvex dev``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pyconvex.cli import main
from tests.cli.dev_server import DevServer, free_port, make_project

CHATTY = """
    from pyconvex import mutation, query

    @mutation
    def hello(ctx):
        print("hello from the function")
        return 1

    @query
    def fail(ctx):
        raise ValueError("broken on purpose")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    port = free_port()
    project = make_project(tmp_path_factory.mktemp("logs") / "app", port, {"chatty.py": CHATTY})
    with DevServer(project, port) as dev:
        dev.value("mutation", "chatty:hello")
        dev.call("query", "chatty:fail")
        yield dev


def logs(server: DevServer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["logs", "--url", server.url, "--admin-key", server.admin_key, *args]
    )
    return result.exit_code, result.output


def test_once_prints_the_runs_held(server: DevServer) -> None:
    code, output = logs(server, "--once")
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].startswith("✓ M chatty:hello (")
    assert lines[1] == "    [LOG] hello from the function"
    assert lines[2].startswith("✗ Q chatty:fail (")
    assert "ValueError: broken on purpose" in output


def test_history_and_jsonl(server: DevServer) -> None:
    code, output = logs(server, "--once", "--history", "1", "--jsonl")
    assert code == 0
    (entry,) = [json.loads(line) for line in output.splitlines()]
    assert entry["path"] == "chatty:fail" and entry["outcome"] == "failure"
    assert entry["kind"] == "query" and entry["durationMs"] >= 0


def test_streaming_shows_new_runs(server: DevServer, tmp_path: Path) -> None:
    environment = {**os.environ, "PYCONVEX_ADMIN_KEY": server.admin_key}
    process = subprocess.Popen(
        [sys.executable, "-m", "pyconvex", "logs", "--url", server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert process.stderr is not None and process.stdout is not None
        assert "Watching logs" in process.stderr.readline()  # caught up: only new runs now
        server.value("mutation", "chatty:hello")
        first = process.stdout.readline()
        assert first.startswith("✓ M chatty:hello (")
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_logs_failures_are_one_clear_line(server: DevServer) -> None:
    result = CliRunner().invoke(
        main, ["logs", "--once", "--url", server.url, "--admin-key", "pyconvex-admin|wrong"]
    )
    assert result.exit_code == 1 and "admin key was refused" in result.output
    result = CliRunner().invoke(
        main, ["logs", "--url", f"http://127.0.0.1:{free_port()}", "--admin-key", "k"]
    )
    assert result.exit_code == 1 and "Cannot reach the deployment" in result.output
    assert "Traceback" not in result.output
