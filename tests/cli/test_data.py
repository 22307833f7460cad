"""``pyconvex export`` and ``pyconvex import`` against real servers (cli/data.py)."""

from __future__ import annotations

import math
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

import pyconvex.cli.data  # noqa: F401 - registers the commands
from pyconvex import Int64
from pyconvex.application import Backend
from pyconvex.cli import main
from pyconvex.database.query import QueryInitializer
from pyconvex.functions.registry import Registry
from pyconvex.server import admin_data
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.values.json import dumps


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A backend served by uvicorn on a free loopback port, in this process."""

    def __init__(self) -> None:
        self.backend = Backend(MemoryPersistence(), Registry.from_modules({}))
        app = create_app(self.backend)
        if "/api/admin/export" not in {getattr(r, "path", None) for r in app.router.routes}:
            app.router.routes.extend(admin_data.routes(self.backend))  # until app.py mounts them
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self._server.started, "the server did not start"

    @property
    def key(self) -> str:
        assert self.backend.admin_key is not None
        return self.backend.admin_key

    def insert(self, table: str, *documents: dict[str, Any]) -> list[str]:
        database = self.backend.database
        transaction = database.begin(writable=True)
        ids = [transaction.insert(table, dict(document)) for document in documents]
        database.commit(transaction).result(timeout=10)
        return ids

    def documents(self, table: str) -> list[str]:
        snapshot = self.backend.database.begin(writable=False)
        return [dumps(d) for d in QueryInitializer(snapshot, table, sync=True).collect()]

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.backend.close()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Server, Server]]:
    # Shared by the tests of this module (starting and stopping servers is the slow
    # part): each test uses its own table names.
    source, target = Server(), Server()
    yield source, target
    source.stop()
    target.stop()


@pytest.fixture(autouse=True)
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # A project folder without pyconvex.json or key file, and no key in the environment.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYCONVEX_ADMIN_KEY", raising=False)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_export_then_import_into_a_fresh_server(
    servers: tuple[Server, Server], project: Path
) -> None:
    source, target = servers
    values = {
        "max": Int64(2**63 - 1),
        "min": Int64(-(2**63)),
        "negzero": -0.0,
        "nan": math.nan,
        "inf": -math.inf,
        "bytes": b"\x00\x01\xff",
        "nested": {"list": [1.5, {"b": b""}], "text": "héllo"},
    }
    (thing,) = source.insert("things", values, {"n": 1.0})[:1]
    source.insert("refs", {"to": thing})

    code, output = run(
        "export", "--path", "snap.zip", "--url", source.url, "--admin-key", source.key
    )
    assert code == 0, output
    assert f"at timestamp {source.backend.database.latest_ts} to snap.zip" in output
    assert not list(project.glob("*.part"))

    code, output = run("import", "snap.zip", "--url", target.url, "--admin-key", target.key)
    assert code == 0, output
    assert "Added 2 documents to table things" in output
    assert "Added 1 documents to table refs" in output
    for table in ("things", "refs"):
        assert target.documents(table) == source.documents(table)

    # Again: the tables exist now, so the default mode refuses; --replace replaces.
    code, output = run("import", "snap.zip", "--url", target.url, "--admin-key", target.key)
    assert code == 1
    assert "Importing snap.zip failed: Table things already exists" in output
    assert "Traceback" not in output
    code, output = run(
        "import", "snap.zip", "--replace", "--url", target.url, "--admin-key", target.key
    )
    assert code == 0, output
    assert target.documents("things") == source.documents("things")


def test_export_into_a_folder_and_keys_from_the_project(
    servers: tuple[Server, Server], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = servers
    source.insert("t", {"a": 1.0})
    (project / ".pyconvex").mkdir()
    (project / ".pyconvex" / "admin_key").write_text(source.key + "\n")
    (project / "out").mkdir()

    code, output = run("export", "--path", "out", "--url", source.url)  # key from the file
    assert code == 0, output
    ts = source.backend.database.latest_ts
    with zipfile.ZipFile(project / "out" / f"snapshot_{ts}.zip") as archive:
        assert archive.read("t/generated_schema.jsonl") == b'"uniform"\n'

    (project / ".pyconvex" / "admin_key").unlink()
    monkeypatch.setenv("PYCONVEX_ADMIN_KEY", source.key)
    code, output = run("export", "--path", "again.zip", "--url", source.url)  # from the env
    assert code == 0, output
    code, output = run("export", "--path", "again.zip", "--url", source.url)
    assert code == 1 and "Path again.zip already exists." in output


def test_single_table_files(servers: tuple[Server, Server], project: Path) -> None:
    _, target = servers
    key = ["--url", target.url, "--admin-key", target.key]
    (project / "people.jsonl").write_bytes(b'\xef\xbb\xbf{"name": "ada", "age": 36}\n')
    (project / "more.csv").write_text("name,age\nbob,41\n")
    (project / "data.txt").write_text('[{"name": "cy"}]')

    code, output = run("import", "people.jsonl", "--table", "people", *key)
    assert code == 0, output
    assert "Added 1 documents to table people" in output  # the BOM was dropped, as Convex's CLI
    code, output = run("import", "more.csv", "--table", "people", "--append", *key)
    assert code == 0, output
    code, output = run(
        "import", "data.txt", "--format", "jsonArray", "--table", "people", "--append", *key
    )
    assert code == 0, output
    names = target.documents("people")
    assert len(names) == 3 and '"age":41.0' in names[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "missing.zip"], "Path missing.zip does not exist."),
        (["import", "notes.txt"], "No format inferred from the extension of notes.txt"),
        (["import", "rows.jsonl"], "The `--table` option is required for format jsonLines"),
        (["import", "snap.zip", "--table", "t"], "The `--table` option is not allowed"),
        (["import", "rows.jsonl", "--table", "t", "--append", "--replace"], "either --append"),
        (["import", "snap.zip"], "Importing snap.zip failed: The file is not a valid ZIP"),
        (["import", "rows.jsonl", "--table", "t"], "Row 2 wasn't valid JSON"),
        (["export", "--path", "nowhere/x.zip"], "Folder nowhere does not exist."),
    ],
)
def test_bad_files_are_one_line(
    servers: tuple[Server, Server], project: Path, args: list[str], message: str
) -> None:
    _, target = servers
    (project / "notes.txt").write_text("hello")
    (project / "rows.jsonl").write_text('{"a": 1}\n{broken\n')
    (project / "snap.zip").write_bytes(b"PK\x03\x04 not really a zip")
    code, output = run(*args, "--url", target.url, "--admin-key", target.key)
    assert code == 1
    assert message in output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1
    assert target.backend.database.state.catalog.table("t") is None


def test_unreachable_servers_and_wrong_keys(servers: tuple[Server, Server], project: Path) -> None:
    source, _ = servers
    (project / "rows.jsonl").write_text('{"a": 1}\n')
    nobody = f"http://127.0.0.1:{free_port()}"
    cases = [
        (["export", "--path", "x.zip", "--url", nobody, "--admin-key", "k"], "Cannot reach"),
        (["import", "rows.jsonl", "--table", "t", "--url", nobody, "--admin-key", "k"], "reach"),
        (["export", "--path", "x.zip", "--url", source.url, "--admin-key", "bad"], "refused"),
        (["import", "rows.jsonl", "--table", "t", "--url", source.url, "--admin-key", "bad"], "re"),
        (["export", "--path", "x.zip", "--url", source.url], "No admin key for"),
    ]
    for args, message in cases:
        code, output = run(*args)
        assert code == 1, args
        assert message in output, output
        assert "Traceback" not in output
    assert not (project / "x.zip").exists()


def test_an_export_that_fails_midway_leaves_no_file(
    servers: tuple[Server, Server], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = servers

    def broken(database: Any, out: Any, **options: Any) -> int:
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("README.md", b"x" * 300_000)  # past the first chunk
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(admin_data, "export_snapshot", broken)
    code, output = run("export", "--path", "x.zip", "--url", source.url, "--admin-key", source.key)
    assert code == 1
    assert "The export failed" in output and "Traceback" not in output
    assert list(project.iterdir()) == []


def test_a_zip_checks_out_before_it_is_kept(
    servers: tuple[Server, Server], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = servers

    def truncated(database: Any, out: Any, **options: Any) -> int:
        out.write(b"PK\x03\x04" + b"\x00" * 100)  # ends cleanly, but is no ZIP
        return 1

    monkeypatch.setattr(admin_data, "export_snapshot", truncated)
    code, output = run("export", "--path", "x.zip", "--url", source.url, "--admin-key", source.key)
    assert code == 1 and "sent an incomplete ZIP file" in output
    assert list(project.iterdir()) == []
