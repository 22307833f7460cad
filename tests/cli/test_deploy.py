"""``pyconvex deploy`` and the code-push endpoint (server/admin_code.py)."""

from __future__ import annotations

import io
import textwrap
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette

from pyconvex.application import Backend
from pyconvex.cli import main
from pyconvex.cli.deploy import zip_functions
from pyconvex.server import admin_code
from tests.cli.dev_server import DevServer, free_port, make_project, write

V1 = textwrap.dedent(
    """
    from pyconvex import mutation, query, v

    @query
    def version(ctx):
        return "v1"

    @mutation(args={"text": v.string()})
    async def add(ctx, args):
        return await ctx.db.insert("notes", {"text": args["text"]})
    """
)
V2 = V1.replace('"v1"', '"v2"')
STRICT_SCHEMA = """
    from pyconvex import define_schema, define_table, v

    schema = define_schema({"notes": define_table({"text": v.number()})})
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DevServer]:
    port = free_port()
    project = make_project(tmp_path / "served", port, {"notes.py": V1})
    # No watching: the served folder must not change under the pushed code.
    with DevServer(project, port, "--no-watch") as dev:
        yield dev


def deploy(server: DevServer, folder: Path, *extra: str) -> tuple[int, str]:
    args = ["deploy", "--url", server.url, "--admin-key", server.admin_key]
    result = CliRunner().invoke(main, [*args, "--functions", str(folder), *extra])
    return result.exit_code, result.output


def test_deploy_swaps_the_code_and_a_broken_deploy_keeps_the_old(
    server: DevServer, tmp_path: Path
) -> None:
    server.value("mutation", "notes:add", {"text": "kept"})
    new = tmp_path / "new" / "convex"
    write(new / "notes.py", V2)
    write(new / "__pycache__" / "junk.pyc", "not code")
    code, output = deploy(server, new)
    assert code == 0, output
    assert f"✓ Deployed {new} to {server.url} (2 functions)" in output
    assert server.value("query", "notes:version") == "v2"
    assert (server.project / ".pyconvex" / "code" / "1" / "convex" / "notes.py").exists()

    # A module that fails to import: refused, and v2 keeps serving.
    write(new / "broken.py", "import not_installed_anywhere\n")
    code, output = deploy(server, new)
    assert code == 1
    assert "previous code keeps serving" in output and "ModuleNotFoundError" in output
    assert "convex/broken.py:1" in output and "Traceback" not in output
    assert server.value("query", "notes:version") == "v2"

    # A schema the existing data does not match: refused too.
    (new / "broken.py").unlink()
    write(new / "schema.py", STRICT_SCHEMA)
    code, output = deploy(server, new)
    assert code == 1 and "SchemaError" in output
    assert server.value("query", "notes:version") == "v2"
    assert not (server.project / ".pyconvex" / "code" / "3").exists()  # failures are removed


def test_deploy_failures_are_one_clear_line(server: DevServer, tmp_path: Path) -> None:
    folder = tmp_path / "convex"
    write(folder / "notes.py", V2)
    result = CliRunner().invoke(
        main,
        [
            "deploy",
            "--url",
            server.url,
            "--admin-key",
            "pyconvex-admin|wrong",
            "--functions",
            str(folder),
        ],
    )
    assert result.exit_code == 1 and "admin key was refused" in result.output
    unreachable = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        main, ["deploy", "--url", unreachable, "--admin-key", "k", "--functions", str(folder)]
    )
    assert result.exit_code == 1 and "Cannot reach the deployment" in result.output
    result = CliRunner().invoke(
        main,
        ["deploy", "--url", server.url, "--admin-key", "k", "--functions", str(tmp_path / "no")],
    )
    assert result.exit_code == 1 and "No functions folder" in result.output
    assert server.value("query", "notes:version") == "v1"


def test_the_functions_folder_comes_from_the_config(
    server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Deploying the served project to itself, with everything from pyconvex.json
    # and the local key file.
    monkeypatch.chdir(server.project)
    monkeypatch.delenv("PYCONVEX_ADMIN_KEY", raising=False)
    result = CliRunner().invoke(main, ["deploy"])
    assert result.exit_code == 0, result.output
    assert "(2 functions)" in result.output


# -- the endpoint, in process -------------------------------------------------


Pushed = tuple[httpx.AsyncClient, Backend, Path]


@pytest.fixture
async def pushed(tmp_path: Path) -> AsyncIterator[Pushed]:
    write(tmp_path / "app" / "convex" / "notes.py", V1)
    backend = Backend.open(tmp_path / "app" / "convex", data_path=":memory:")
    root = tmp_path / "code"
    app = Starlette(routes=admin_code.routes(backend, code_root=root))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Convex {backend.admin_key}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers=headers
    ) as client:
        yield client, backend, root
    backend.close()


def archive(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


async def test_push_endpoint_versions_and_prunes(pushed: Pushed) -> None:
    client, backend, root = pushed
    for number in range(1, 8):
        response = await client.post("/api/admin/push", content=archive({"notes.py": V2}))
        assert response.json() == {"functions": 2, "version": number}
    assert sorted(int(p.name) for p in root.iterdir()) == [3, 4, 5, 6, 7]
    assert backend.functions_dir == root / "7" / "convex"


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        (b"not a zip", 400, "not a zip"),
        (archive({"../evil.py": "x = 1"}), 400, "Unsafe path"),
        (archive({"/etc/evil.py": "x = 1"}), 400, "Unsafe path"),
        (archive({"notes.py": "def broken(:"}), 400, "SyntaxError"),
    ],
)
async def test_push_endpoint_refusals(pushed: Pushed, body: bytes, status: int, text: str) -> None:
    client, backend, root = pushed
    response = await client.post("/api/admin/push", content=body)
    assert response.status_code == status and text in response.json()["message"]
    assert backend.registry.get("notes:version") is not None
    assert not any(root.glob("*/convex/*.py"))


async def test_push_endpoint_needs_the_admin_key(pushed: Pushed) -> None:
    client, _, _ = pushed
    response = await client.post(
        "/api/admin/push", content=archive({}), headers={"Authorization": ""}
    )
    assert response.status_code == 401
    response = await client.post(
        "/api/admin/push", content=archive({}), headers={"Authorization": "Convex nope"}
    )
    assert response.status_code == 403


def test_zip_functions_skips_caches_and_dotfiles(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "")
    write(tmp_path / "sub" / "b.py", "")
    write(tmp_path / "__pycache__" / "a.cpython-311.pyc", "")
    write(tmp_path / ".DS_Store", "")
    names = zipfile.ZipFile(io.BytesIO(zip_functions(tmp_path))).namelist()
    assert names == ["a.py", "sub/b.py"]
