"""Writing convex/_generated/ (codegen/writer.py)."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from pyconvex.application import Backend
from pyconvex.cli.dev import reload_app
from pyconvex.codegen import generate_files, write_generated
from pyconvex.functions.loader import load_app

CHAT = Path(__file__).parents[2] / "examples" / "chat" / "convex"
FILES = {"__init__.py", "api.py", "client.py", "api.js", "api.d.ts", "dataModel.d.ts"}


def test_every_file_is_deterministic_and_marked_generated() -> None:
    app = load_app(CHAT)
    files = generate_files(app.registry, app.schema)
    assert set(files) == FILES
    again = load_app(CHAT)
    assert generate_files(again.registry, again.schema) == files
    for name, text in files.items():
        assert "Do not edit" in text and "GENERATED" in text.upper(), name


def test_written_once_then_left_alone(tmp_path: Path) -> None:
    app = load_app(CHAT)
    assert write_generated(tmp_path, app.registry, app.schema) is True
    assert {p.name for p in (tmp_path / "_generated").iterdir()} == FILES
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "_generated").iterdir()}
    assert write_generated(tmp_path, app.registry, app.schema) is False
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "_generated").iterdir()}


def test_a_reload_regenerates_the_typescript_api(tmp_path: Path) -> None:
    functions = tmp_path / "convex"
    functions.mkdir()
    notes = functions / "notes.py"
    notes.write_text(
        "from pyconvex import query\n\n@query\ndef first(ctx) -> str:\n    return 'a'\n"
    )
    backend = Backend.open(functions, data_path=":memory:")
    try:
        api = functions / "_generated" / "api.d.ts"
        assert 'first: FunctionReference<"query", "public", Record<string, never>, string>' in (
            api.read_text()
        )
        notes.write_text(
            notes.read_text()
            + textwrap.dedent("""
            from pyconvex import v

            @query(args={"n": v.number()}, returns=v.array(v.number()))
            def second(ctx, args):
                return [args["n"]]
            """)
        )
        assert reload_app(backend, functions).startswith("✓")
        assert asyncio.run(backend.executor.run_query("notes:second", {"n": 2})).value == [2.0]
        assert (
            'second: FunctionReference<"query", "public", { n: number }, Array<number>>'
            in api.read_text()
        )
        assert (
            "def second(self, args: NotesSecondArgs) -> NotesSecondResult:"
            in (functions / "_generated" / "client.py").read_text()
        )
    finally:
        backend.close()
