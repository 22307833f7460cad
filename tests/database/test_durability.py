"""Crash safety: SIGKILL a process mid-stream of commits; acknowledged commits survive.

The child runs real mutations through the executor on a SQLite file (or a
PostgreSQL database), 40 at a time, each inserting two documents of one pair,
and prints a pair number only after its mutation returned (i.e. was
acknowledged as durable). The parent kills it with SIGKILL at an arbitrary
moment, reopens the store and checks that
every acknowledged pair is there and that no pair is there by half.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer
from pyconvex.storage.opener import open_persistence
from tests import pg_server

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pyconvex import mutation, v
    from pyconvex.testing import ConvexTest

    @mutation(args={"pair": v.number()})
    async def write_pair(ctx, args):
        await ctx.db.insert("halves", {"pair": args["pair"], "half": 0})
        await ctx.db.insert("halves", {"pair": args["pair"], "half": 1})

    async def main():
        location = sys.argv[1]
        if location.startswith("postgres"):
            t = ConvexTest(None, {"crash": sys.modules[__name__]}, database_url=location)
        else:
            t = ConvexTest(None, {"crash": sys.modules[__name__]}, sqlite_path=location)
        next_pair = 0

        async def one(pair):
            await t.mutation("crash:write_pair", {"pair": pair})
            print(pair, flush=True)

        while True:
            batch = range(next_pair, next_pair + 40)
            next_pair += 40
            await asyncio.gather(*(one(p) for p in batch))

    asyncio.run(main())
    """
)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_acknowledged_commits_survive_sigkill(tmp_path: Path, backend: str) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    location = (
        str(tmp_path / "crash.sqlite3") if backend == "sqlite" else pg_server.fresh_database()
    )
    child = subprocess.Popen(
        [sys.executable, str(script), location],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acknowledged: set[int] = set()
    deadline = time.monotonic() + 60
    try:
        assert child.stdout is not None
        while len(acknowledged) < 500 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            acknowledged.add(int(float(line)))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        errors = child.stderr.read() if child.stderr else ""
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert len(acknowledged) >= 500, errors

    persistence = open_persistence(location)
    database = Database(persistence)
    try:
        rows = QueryInitializer(database.begin(writable=False), "halves", sync=True).collect()
    finally:
        database.close()
        persistence.close()
    halves: dict[int, set[float]] = {}
    for row in rows:
        halves.setdefault(int(row["pair"]), set()).add(row["half"])
    missing = acknowledged - set(halves)
    assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
    broken = {pair for pair, seen in halves.items() if seen != {0.0, 1.0}}
    assert not broken, f"half-written pairs: {sorted(broken)[:10]}"
