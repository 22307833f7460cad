"""The in-process test kit (testing/__init__.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from pyconvex.testing import ConvexTest


async def test_load_a_folder_and_persist_to_sqlite(tmp_path: Path) -> None:
    app = tmp_path / "convex"
    app.mkdir()
    (app / "schema.py").write_text(
        textwrap.dedent("""
        from pyconvex import define_schema, define_table, v
        schema = define_schema({"tasks": define_table({"title": v.string()})})
    """)
    )
    (app / "tasks.py").write_text(
        textwrap.dedent("""
        from pyconvex import mutation, query, v

        @mutation(args={"title": v.string()})
        async def create(ctx, args):
            return await ctx.db.insert("tasks", {"title": args["title"]})

        @query
        async def titles(ctx):
            return [t["title"] for t in await ctx.db.query("tasks").collect()]
    """)
    )
    database = tmp_path / "tasks.sqlite3"
    async with ConvexTest(modules=app, sqlite_path=database) as t:
        await t.mutation("tasks:create", {"title": "write tests"})
    async with ConvexTest(modules=app, sqlite_path=database) as t:
        assert await t.query("tasks:titles") == ["write tests"]


async def test_run_gives_a_mutation_context() -> None:
    async with ConvexTest() as t:

        async def setup(ctx: Any) -> str:
            return await ctx.db.insert("anything", {"a": 1})

        document_id = await t.run(setup)

        async def read(ctx: Any) -> Any:
            return await ctx.db.get(document_id)

        assert (await t.run(read))["a"] == 1.0
