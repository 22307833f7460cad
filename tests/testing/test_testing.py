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


async def test_scheduled_functions_run_when_the_test_asks_and_the_clock_allows() -> None:
    from pyconvex.clock import ManualClock
    from tests.functions import scheduler_app

    async with ConvexTest(modules={"jobs": scheduler_app}, clock=ManualClock()) as t:
        await t.mutation("jobs:after", {"delay": 0, "text": "now"})
        await t.mutation("jobs:after", {"delay": 5000, "text": "later"})
        assert await t.query("jobs:texts") == []  # nothing runs until asked
        ada = t.with_identity({"issuer": "https://idp", "subject": "ada"})
        await ada.finish_scheduled_functions()
        assert await t.query("jobs:texts") == ["now"]
        t.clock.advance(5)  # type: ignore[attr-defined]
        await t.finish_scheduled_functions()
        assert await t.query("jobs:texts") == ["now", "later"]
