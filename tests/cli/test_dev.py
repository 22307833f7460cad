"""``pyconvex dev`` (reload on change, run printing) and ``pyconvex run`` against it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pyconvex.application import Backend
from pyconvex.cli import main
from pyconvex.cli.dev import reload_app, resolve_project
from tests.cli.dev_server import DevServer, free_port, make_project, write

NOTES = """
    from pyconvex import ConvexError, internal_query, mutation, query, v

    @query
    def version(ctx):
        return "v1"

    @internal_query
    def secret(ctx):
        return "only for admins"

    @mutation(args={"text": v.string()})
    async def add(ctx, args):
        print("adding", args["text"])
        return await ctx.db.insert("notes", {"text": args["text"]})

    @query
    def fail(ctx):
        raise ConvexError({"code": "nope"})
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """One dev server for the tests that do not change its code."""
    port = free_port()
    project = make_project(tmp_path_factory.mktemp("shared") / "app", port, {"notes.py": NOTES})
    with DevServer(project, port) as dev:
        yield dev


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[DevServer]:
    port = free_port()
    project = make_project(tmp_path / "app", port, {"notes.py": NOTES})
    with DevServer(project, port) as dev:
        yield dev


def test_an_edit_is_served_and_a_broken_edit_keeps_the_old_code(own_server: DevServer) -> None:
    server = own_server
    notes = server.project / "convex" / "notes.py"
    assert server.value("query", "notes:version") == "v1"
    assert "admin key: pyconvex-admin|" in server.output

    notes.write_text(notes.read_text().replace('"v1"', '"v2"'))
    seen = server.wait_for("✓ reloaded (4 functions)")
    assert server.value("query", "notes:version") == "v2"

    # A broken edit: the error is printed, the previous code keeps serving.
    notes.write_text(notes.read_text() + "\nraise ValueError('typo in the app')\n")
    seen = server.wait_for("✗ reload failed", after=seen)
    line = server.lines[seen - 1]
    assert "ValueError: typo in the app" in line and "convex/notes.py:" in line
    assert server.value("query", "notes:version") == "v2"

    # So does a module that does not even parse, or a new file that does not import.
    write(server.project / "convex" / "extra.py", "import not_installed_anywhere\n")
    seen = server.wait_for("ModuleNotFoundError", after=seen)
    assert server.value("query", "notes:version") == "v2"

    # Fixing it brings the new code in.
    (server.project / "convex" / "extra.py").unlink()
    notes.write_text(notes.read_text().replace("raise ValueError('typo in the app')", ""))
    server.wait_for("✓ reloaded", after=seen)
    assert server.value("query", "notes:version") == "v2"
    assert "Traceback" not in server.output


def test_dev_prints_every_run_and_run_calls_it_with_the_admin_key(
    server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(server.project)  # the target comes from pyconvex.json
    runner = CliRunner()

    result = runner.invoke(main, ["run", "notes:add", '{"text": "hello"}'])
    assert result.exit_code == 0, result.output
    assert "[LOG] adding hello" in result.stderr
    assert len(json.loads(result.stdout)) == 32

    # Internal functions run, because run sends the admin key.
    result = runner.invoke(main, ["run", "notes:secret"])
    assert result.exit_code == 0 and json.loads(result.stdout) == "only for admins"

    result = runner.invoke(main, ["run", "notes:fail"])
    assert result.exit_code == 1 and 'ConvexError: {"code": "nope"}' in result.output

    server.wait_for("✓ M notes:add")
    seen = server.wait_for("[LOG] adding hello")
    server.wait_for("✗ Q notes:fail", after=seen)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["notes:add", "{broken"], "ARGS is not valid JSON"),
        (["notes:add", "[1]"], "ARGS must be a JSON object"),
        (["notes:version", "--admin-key", "pyconvex-admin|wrong"], "admin key was refused"),
        (
            ["notes:version", "--watch", "--admin-key", "pyconvex-admin|bad"],
            "refused the admin key",
        ),
        (["notes:version", "--url", "ftp://x"], "--url must start with http"),
    ],
)
def test_run_failures_are_one_clear_line(server: DevServer, args: list[str], message: str) -> None:
    extra = [] if "--url" in args else ["--url", server.url]
    result = CliRunner().invoke(main, ["run", *args, *extra])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_run_against_an_unreachable_server(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["run", "a:b", "--url", url, "--admin-key", "k"])
    assert result.exit_code == 1
    assert f"Cannot reach the deployment at {url}" in result.output
    assert "Traceback" not in result.output


def test_run_without_an_admin_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYCONVEX_ADMIN_KEY", raising=False)
    result = CliRunner().invoke(main, ["run", "a:b", "--url", "https://example.invalid"])
    assert result.exit_code == 1
    assert "No admin key for https://example.invalid" in result.output


def test_dev_on_a_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    write(tmp_path / "convex" / "notes.py", NOTES)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = subprocess.run(
            [sys.executable, "-m", "pyconvex", "dev", str(tmp_path), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert process.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in process.stderr
    assert "Traceback" not in process.stderr


def test_dev_refuses_file_storage_it_cannot_use(tmp_path: Path) -> None:
    write(tmp_path / "convex" / "notes.py", NOTES)
    theirs = tmp_path / "shared-files"
    theirs.mkdir()
    (theirs / ".owner").write_text("another deployment\n")
    for location, message in [
        ("gs://bucket/x", "Cannot keep files in gs://bucket/x: Unknown file storage"),
        (str(theirs), f"Cannot keep files in {theirs}: {theirs} holds the files of another"),
    ]:
        process = subprocess.run(
            [sys.executable, "-m", "pyconvex", "dev", str(tmp_path), "--port", "0"],
            capture_output=True,
            text=True,
            timeout=20,
            env={**os.environ, "PYCONVEX_FILES": location},
        )
        assert process.returncode == 1 and message in process.stderr, process.stderr
        assert "Traceback" not in process.stderr


def test_resolve_project(tmp_path: Path) -> None:
    make_project(tmp_path / "app", 3299, {"a.py": ""})
    assert resolve_project(tmp_path / "app").root == tmp_path / "app"
    assert resolve_project(tmp_path / "app" / "convex").root == tmp_path / "app"
    assert resolve_project(tmp_path / "app").dev_url == "http://127.0.0.1:3299"
    # Without a config: a folder holding convex/, or the functions folder itself.
    write(tmp_path / "plain" / "convex" / "a.py", "")
    assert resolve_project(tmp_path / "plain").functions_dir == tmp_path / "plain" / "convex"
    bare = resolve_project(tmp_path / "plain" / "convex")
    assert bare.functions_dir == tmp_path / "plain" / "convex"
    assert bare.state_dir == tmp_path / "plain" / ".pyconvex"


def test_a_reload_picks_up_an_edited_helper_module(tmp_path: Path) -> None:
    write(tmp_path / "convex" / "helpers.py", "def value():\n    return 1\n")
    write(
        tmp_path / "convex" / "api.py",
        """
        from pyconvex import query
        from .helpers import value

        @query
        def get(ctx):
            return value()
        """,
    )
    backend = Backend.open(tmp_path / "convex", data_path=":memory:")
    try:
        write(tmp_path / "convex" / "helpers.py", "def value():\n    return 2\n")
        assert reload_app(backend, tmp_path / "convex").startswith("✓")
        assert asyncio.run(backend.executor.run_query("api:get", {})).value == 2
    finally:
        backend.close()


CRON_STATUS = """
    from pyconvex import query

    @query
    async def crons(ctx):
        rows = await ctx.db.system.query("_cron_jobs").collect()
        return {row["name"]: [row["function"], row["spec"], row["nextRun"]] for row in rows}
"""


def test_the_chat_examples_crons_run_on_the_dev_server_and_show_in_its_log(
    tmp_path: Path,
) -> None:
    import shutil

    port = free_port()
    project = make_project(tmp_path / "chat", port, {"cron_status.py": CRON_STATUS})
    example = Path(__file__).parents[2] / "examples" / "chat" / "convex"
    shutil.copytree(example, project / "convex", dirs_exist_ok=True)
    with DevServer(project, port) as dev:
        # An interval cron first runs when it is deployed: at once.
        dev.wait_for("tasks:categorizePending", timeout=20)
        line = next(line for line in dev.lines if "tasks:categorizePending" in line)
        assert line.startswith("✓ A ") and line.endswith('[cron "categorize pending tasks"]')
        crons = dev.value("query", "cron_status:crons")
        assert isinstance(crons, dict)
        assert {name: spec[:2] for name, spec in crons.items()} == {
            "categorize pending tasks": [
                "tasks:categorizePending",
                {"type": "interval", "minutes": 5},
            ],
            "send daily digest": [
                "emails:sendDailyDigest",
                {"type": "daily", "hourUTC": 0, "minuteUTC": 0},
            ],
            "weekly report": [
                "reports:generateWeekly",
                {"type": "weekly", "dayOfWeek": "monday", "hourUTC": 9, "minuteUTC": 0},
            ],
            "complex schedule": ["tasks:cleanup", {"type": "cron", "cron": "0 */2 * * *"}],
        }
        # Each calendar cron waits for its next time; the interval's is 5 minutes on.
        assert all(next_run > 0 for _, _, next_run in crons.values())


def test_dev_serves_metrics_on_their_own_port(tmp_path: Path) -> None:
    import httpx

    port, metrics_port = free_port(), free_port()
    project = make_project(tmp_path / "app", port, {"notes.py": NOTES})
    with DevServer(project, port, "--metrics-port", str(metrics_port)) as dev:
        dev.wait_for(f"metrics: http://127.0.0.1:{metrics_port}/metrics")
        assert f"dashboard: {dev.url}/dashboard/" in dev.output
        dev.value("mutation", "notes:add", {"text": "x"})
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert "pyconvex_commits_total 1.0" in scraped
        # The deployment's own /metrics still wants the admin key.
        assert httpx.get(f"{dev.url}/metrics").status_code == 401


@pytest.mark.postgres
def test_dev_and_run_keep_the_data_in_postgres(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    project = make_project(tmp_path / "app", port, {"notes.py": NOTES})
    with DevServer(project, port, "--db", postgres_url) as dev:
        assert dev.value("mutation", "notes:add", {"text": "in postgres"})
        assert "data: postgresql://" in dev.output
    assert not (project / ".pyconvex" / "data.sqlite3").exists()
    # The same data, read in this process through the environment variable.
    write(
        project / "convex" / "count.py",
        """
        from pyconvex import query

        @query
        async def texts(ctx):
            return [note["text"] for note in await ctx.db.query("notes").collect()]
    """,
    )
    monkeypatch.chdir(project)
    monkeypatch.setenv("PYCONVEX_DB_URL", postgres_url)
    result = CliRunner().invoke(main, ["run", "--local", "count:texts"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ["in postgres"]


def test_dev_with_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app", free_port(), {"notes.py": NOTES})
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing?connect_timeout=2"
    result = subprocess.run(
        [sys.executable, "-m", "pyconvex", "dev", str(project), "--db", url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYCONVEX_POSTGRES_CONNECT_TIMEOUT_SECONDS": "2"},
    )
    assert result.returncode == 1
    assert "Could not open the database postgresql://nobody@127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr
