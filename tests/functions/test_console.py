"""Log lines from print() and logging (functions/console.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from pyconvex.testing import ConvexTest


async def test_print_and_logging_become_convex_log_lines(tmp_path: Path) -> None:
    app = tmp_path / "convex"
    app.mkdir()
    (app / "chatty.py").write_text(
        textwrap.dedent("""
        import logging
        import sys
        from pyconvex import query

        log = logging.getLogger(__name__)

        @query
        async def talk(ctx):
            print("hello", 42)
            print("oops", file=sys.stderr)
            log.debug("fine detail")
            log.info("for %s", "you")
            log.warning("careful")
            log.error("broken")
            for n in range(300):
                print("line", n)
            return "done"
    """)
    )
    async with ConvexTest(modules=app) as t:
        result = await t.executor.run_query("chatty:talk")
    lines = result.log_lines
    assert lines[:6] == [
        "[LOG] hello 42",
        "[ERROR] oops",
        "[DEBUG] fine detail",
        "[INFO] for you",
        "[WARN] careful",
        "[ERROR] broken",
    ]
    assert len(lines) == 257 and lines[-1].startswith("[WARN] Log overflow (maximum 256)")


def test_print_outside_a_function_still_prints(capsys) -> None:  # type: ignore[no-untyped-def]
    from pyconvex.functions import console

    console.install()
    print("plain")
    assert capsys.readouterr().out == "plain\n"
