"""The typed Python client module (codegen/python_client.py), checked by mypy and called
against the chat example with the official PyPI ``convex`` client."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from convex import ConvexClient

from pyconvex import define_schema, define_table, mutation, query, v
from pyconvex.codegen.python_client import generate_client_module
from pyconvex.codegen.shapes import function_shapes
from pyconvex.functions.loader import load_app
from pyconvex.functions.registry import Registry
from tests.clients.conftest import _free_port

ROOT = Path(__file__).parents[2]
CHAT = ROOT / "examples" / "chat" / "convex"


def _chat_client_source() -> str:
    app = load_app(CHAT)
    return generate_client_module(function_shapes(app.registry.items()), app.schema)


def _mypy(folder: Path, *files: str) -> list[str]:
    """mypy --strict's error lines for ``files`` in ``folder``."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(folder / ".cache"), *files],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return [line for line in result.stdout.splitlines() if ": error:" in line]


def test_mypy_accepts_right_calls_and_rejects_wrong_ones(tmp_path: Path) -> None:
    (tmp_path / "chat_api.py").write_text(_chat_client_source())
    (tmp_path / "good.py").write_text(
        textwrap.dedent("""
        from convex import ConvexClient
        from convex.http_client import ConvexHttpClient
        from chat_api import Api, MessagesListResult, TasksDoc

        def over_http(url: str) -> list[TasksDoc]:
            return Api(ConvexHttpClient(url)).tasks.list()

        def show(url: str, channel: str) -> list[str]:
            api = Api(ConvexClient(url))
            lines: list[str] = []
            for message in api.messages.list({"channelId": channel}):
                user = message["user"]
                lines.append(f"{user['name'] if user else '?'}: {message['text']}")
            page = api.messages.paginated(
                {"channelId": channel, "paginationOpts": {"numItems": 10, "cursor": None}}
            )
            lines += [m["text"] for m in page["page"]]
            task_id: str = api.tasks.create({"title": "write tests", "tags": ["a"]})
            tasks: list[TasksDoc] = api.tasks.list({"status": "todo"}) + api.tasks.list()
            api.tasks.update({"id": task_id, "status": "done"})
            upload_url: str = api.files.generateUploadUrl()
            me = api.users.me()
            lines.append(me["email"] if me is not None else upload_url)
            sent = api.actions.sendEmail({"to": "a@b.c", "subject": "s", "body": "b"})
            lines.append(str(sent["success"]) + str(len(tasks)))
            return lines

        def first(messages: MessagesListResult) -> float:
            return messages[0]["_creationTime"]
        """)
    )
    (tmp_path / "bad.py").write_text(
        textwrap.dedent("""
        from convex import ConvexClient
        from chat_api import Api

        api = Api(ConvexClient("http://127.0.0.1:1"))
        api.messages.list({"channel": "c"})
        api.messages.list({"channelId": 5})
        api.tasks.update({"id": "t", "status": "later"})
        for message in api.messages.list({"channelId": "c"}):
            user = message["user"]
            if user is not None:
                print(user["nmae"])
        api.files.generateUploadUrl({"x": 1})
        """)
    )
    errors = _mypy(tmp_path, "chat_api.py", "good.py", "bad.py")
    assert not [e for e in errors if not e.startswith("bad.py:")], errors
    by_line = {int(e.split(":")[1]): e for e in errors}
    assert 'Extra key "channel"' in by_line[6]
    assert 'expression has type "int", TypedDict item "channelId"' in by_line[7]
    assert "Literal['later']" in by_line[8]
    assert '"nmae"' in by_line[12]
    assert "Too many arguments" in by_line[13]


def test_objects_unions_and_names(tmp_path: Path) -> None:
    schema = define_schema({"notes": define_table({"text": v.string(), "class": v.string()})})

    @query(
        args={"filter": v.optional(v.object({"from": v.number(), "big": v.int64()}))},
        returns=v.union(
            v.object({"kind": v.literal("a"), "n": v.literal(5)}),
            v.object({"kind": v.literal("b")}),
            v.null(),
        ),
    )
    def pick(ctx: Any, args: Any) -> Any: ...

    @mutation(returns=v.array(schema.doc("notes")))
    def notes(ctx: Any) -> Any: ...

    registry = Registry()
    registry.add("my-things:pick", pick)
    registry.add("my-things/deep:notes", notes)
    source = generate_client_module(function_shapes(registry.items()), schema)
    # Keywords as keys need TypedDict's functional form; int64 arguments are ConvexInt64.
    assert 'NotesDoc = TypedDict("NotesDoc", {"text": "str", "class": "str",' in source
    assert "ConvexInt64" in source
    assert "class MyThingsApi:" in source and "self.deep = MyThingsDeepApi(client)" in source
    assert "def pick(self, args: MyThingsPickArgs | None = None) -> MyThingsPickResult:" in source
    assert source == generate_client_module(function_shapes(registry.items()), schema)
    (tmp_path / "things.py").write_text(source)
    (tmp_path / "use.py").write_text(
        textwrap.dedent("""
        from convex import ConvexClient
        from convex.values import ConvexInt64
        from things import Api

        api = Api(ConvexClient("http://127.0.0.1:1"))
        found = api.my_things.pick({"filter": {"from": 1, "big": ConvexInt64(2)}})
        if found is not None and found["kind"] == "a":
            print(found["n"] + 1)
        for note in api.my_things.deep.notes():
            print(note["class"], note["_id"])
        """)
    )
    assert _mypy(tmp_path, "things.py", "use.py") == []


SERVER = """
import sys, uvicorn
from pyconvex.application import Backend
from pyconvex.server.app import create_app
backend = Backend.open(sys.argv[2], data_path=":memory:")
backend.set_url(f"http://127.0.0.1:{sys.argv[1]}")
uvicorn.run(create_app(backend), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@pytest.fixture
def chat_url() -> Iterator[str]:
    # Its own process: the PyPI client's Rust core holds the GIL while it blocks.
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(CHAT)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.post(f"{url}/api/query_ts")
            break
        except httpx.ConnectError:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


def _import(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pypi_client_calls_the_example_through_the_generated_module(
    chat_url: str, tmp_path: Path
) -> None:
    (tmp_path / "chat_api.py").write_text(_chat_client_source())
    chat_api = _import(tmp_path / "chat_api.py", "chat_api_under_test")
    client = ConvexClient(chat_url)
    api = chat_api.Api(client)
    task_id = api.tasks.create({"title": "typed", "tags": ["py"]})
    api.tasks.update({"id": task_id, "status": "in_progress"})
    [task] = api.tasks.list({"status": "in_progress"})
    assert task["_id"] == task_id and task["title"] == "typed" and task["tags"] == ["py"]
    assert api.tasks.get({"id": task_id})["status"] == "in_progress"
    assert api.channels.list() == [] and api.users.me() is None
    assert api.files.generateUploadUrl().startswith(chat_url)
    api.tasks.remove({"id": task_id})
    assert api.tasks.list() == []
