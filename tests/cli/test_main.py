"""The command line (cli/main.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from pyconvex.cli import main


@pytest.fixture
def app(tmp_path: Path) -> Path:
    folder = tmp_path / "convex"
    folder.mkdir()
    (folder / "notes.py").write_text(
        textwrap.dedent(
            """
            from pyconvex import ConvexError, Int64, mutation, query, v

            @mutation(args={"text": v.string()})
            async def add(ctx, args):
                return await ctx.db.insert("notes", {"text": args["text"], "n": Int64(1)})

            @query
            async def all(ctx):
                return [n["text"] for n in await ctx.db.query("notes").collect()]

            @query
            async def fail(ctx):
                raise ConvexError({"code": "nope"})
            """
        )
    )
    return folder


def invoke(app: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", *args, "--app", str(app)])
    return result.exit_code, result.output


def test_run_writes_to_the_embedded_database(app: Path) -> None:
    code, output = invoke(app, "notes:add", '{"text": "hello"}')
    assert code == 0 and len(json.loads(output)) == 32
    code, output = invoke(app, "notes:all")
    assert code == 0 and json.loads(output) == ["hello"]
    assert (app.parent / ".pyconvex" / "data.sqlite3").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["notes:add", "{broken"], "ARGS is not valid JSON"),
        (["notes:add", "[1]"], "ARGS must be a JSON object"),
        (["notes:missing"], "No function at 'notes:missing'"),
        (["notes:add", "{}"], "ArgumentValidationError"),
        (["notes:fail"], 'ConvexError: {"code": "nope"}'),
    ],
)
def test_failures_are_one_clear_line(app: Path, args: list[str], message: str) -> None:
    code, output = invoke(app, *args)
    assert code != 0
    assert message in output
    assert "Traceback" not in output


def test_a_missing_app_folder(tmp_path: Path) -> None:
    code, output = invoke(tmp_path / "nowhere", "a:b")
    assert code != 0 and "Could not load" in output


def test_python_dash_m_and_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyconvex", "--version"], capture_output=True, text=True, check=True
    )
    assert "pyconvex" in result.stdout


def test_dev_serves_the_app_and_writes_env_local(app: Path) -> None:
    import socket
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "pyconvex", "dev", str(app), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.post(
                    f"{url}/api/mutation", json={"path": "notes:add", "args": {"text": "hi"}}
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline and process.poll() is None, "dev did not start"
                time.sleep(0.05)
        assert response.json()["status"] == "success"
        listed = httpx.post(f"{url}/api/query", json={"path": "notes:all", "args": {}})
        assert listed.json()["value"] == ["hi"]
        env = (app.parent / ".env.local").read_text()
        assert f"CONVEX_URL={url}" in env and f"VITE_CONVEX_URL={url}" in env
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_dev_with_a_broken_app_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "convex").mkdir()
    (tmp_path / "convex" / "bad.py").write_text("raise ValueError('typo in the app')\n")
    result = CliRunner().invoke(main, ["dev", str(tmp_path)])
    assert result.exit_code != 0
    assert "typo in the app" in result.output and "Traceback" not in result.output
