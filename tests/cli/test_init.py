"""``pyconvex init``: each template, from init to dev to a call from the official client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from convex.http_client import ConvexHttpClient

from pyconvex.cli import main
from pyconvex.cli.init import TEMPLATES
from tests.cli.dev_server import DevServer, free_port

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO / "src" / "pyconvex" / "templates"


def call_blank(client: ConvexHttpClient) -> None:
    task = client.mutation("tasks:add", {"text": "Try pyconvex"})
    client.mutation("tasks:toggle", {"id": task})
    (only,) = client.query("tasks:list")
    assert only["text"] == "Try pyconvex" and only["isCompleted"] is True


def call_with_auth(client: ConvexHttpClient) -> None:
    assert client.query("users:viewer") is None  # signed out
    client.mutation("notes:add", {"text": "anonymous"})
    (note,) = client.query("notes:list")
    assert note["text"] == "anonymous" and note["mine"] is False
    assert client.query("notes:mine") == []


def call_with_file_storage(client: ConvexHttpClient) -> None:
    import httpx

    upload_url = client.mutation("files:generateUploadUrl")
    uploaded = httpx.post(upload_url, content=b"hello", headers={"Content-Type": "text/plain"})
    storage_id = uploaded.json()["storageId"]
    client.mutation(
        "files:save", {"storageId": storage_id, "name": "hello.txt", "type": "text/plain"}
    )
    client.action("files:storeText", {"name": "b.txt", "text": "from the server"})
    newest, oldest = client.query("files:list")
    assert oldest["name"] == "hello.txt" and oldest["size"] == 5
    assert httpx.get(oldest["url"]).content == b"hello"
    assert httpx.get(newest["url"]).content == b"from the server"


def call_chat(client: ConvexHttpClient) -> None:
    assert client.query("channels:list") == []
    assert client.query("users:me") is None


CALLS: dict[str, Any] = {
    "blank": call_blank,
    "with-auth": call_with_auth,
    "with-file-storage": call_with_file_storage,
    "chat": call_chat,
}


@pytest.mark.parametrize("template", TEMPLATES)
def test_init_dev_and_a_call_from_the_official_client(tmp_path: Path, template: str) -> None:
    app = tmp_path / "my-app"
    result = CliRunner().invoke(main, ["init", str(app), "--template", template])
    assert result.exit_code == 0, result.output
    assert f"✓ Created a {template} app in {app}" in result.output
    for name in ("pyconvex.json", "README.md", ".gitignore", "convex/schema.py"):
        assert (app / name).is_file(), name
    assert json.loads((app / "pyconvex.json").read_text())["functions"] == "convex"

    with DevServer(app, free_port()) as dev:
        CALLS[template](ConvexHttpClient(dev.url))
        assert "✗" not in dev.output
    assert (app / ".env.local").read_text().startswith(f"CONVEX_URL={dev.url}\n")


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 1 and "is not empty" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_init_in_the_current_folder_and_an_unknown_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "--template", "nope"])
    assert result.exit_code == 2 and "'nope' is not one of" in result.output
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0 and (tmp_path / "convex" / "tasks.py").exists()
    assert "cd " not in result.output


def test_the_chat_template_is_the_chat_example() -> None:
    example = REPO / "examples" / "chat" / "convex"
    template = TEMPLATE_DIR / "chat" / "convex"
    names = sorted(p.name for p in example.glob("*.py"))
    assert names == sorted(p.name for p in template.glob("*.py")), (
        "re-copy: cp examples/chat/convex/*.py src/pyconvex/templates/chat/convex/"
    )
    for name in names:
        assert (example / name).read_text() == (template / name).read_text(), (
            f"{name} differs; re-copy: cp examples/chat/convex/*.py "
            "src/pyconvex/templates/chat/convex/"
        )


def test_templates_are_clean_and_complete() -> None:
    for template in TEMPLATES:
        folder = TEMPLATE_DIR / template
        assert {p.name for p in folder.iterdir()} >= {
            "pyconvex.json",
            "README.md",
            "gitignore",
            "convex",
        }, template
        # Nothing a run leaves behind may be shipped (init skips it, but keep the tree clean).
        assert not list(folder.rglob("*.pyc")) and not list(folder.rglob("_generated")), template
