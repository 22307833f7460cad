"""Engine benchmark: durable in-process mutations/s against the raw SQLite ceiling.

Both halves run in one process, one after the other, on the same disk:

* **ceiling**: 200 asyncio tasks hand one JSON row insert each to a single
  writer thread, which commits up to 64 rows per transaction with
  ``synchronous=FULL`` in WAL mode and resolves the tasks' futures after each
  commit; this is the cheapest durable group commit Python's sqlite3 allows;
* **pyconvex**: 200 concurrent mutation calls through the executor, each
  inserting one document (schema-validated, one user index), committed
  durably by the committer on a SQLite file.

Usage: ``python bench/engine_bench.py [--mutations N] [--concurrency C]``.
Prints numbers only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import queue
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pyconvex import define_schema, define_table, mutation, v
from pyconvex.testing import ConvexTest

schema = define_schema(
    {"messages": define_table({"body": v.string(), "n": v.number()}).index("by_n", ["n"])}
)


@mutation(args={"body": v.string(), "n": v.number()})
async def send(ctx: Any, args: dict[str, Any]) -> str:
    return await ctx.db.insert("messages", {"body": args["body"], "n": args["n"]})


async def run_pyconvex(folder: Path, total: int, concurrency: int) -> float:
    harness = ConvexTest(
        schema, {"bench": sys.modules[__name__]}, sqlite_path=folder / "bench.sqlite3"
    )
    try:
        for n in range(200):  # warm up workers and connections
            await harness.mutation("bench:send", {"body": "warm", "n": -n})
        counter = iter(range(total))

        async def worker() -> None:
            for n in counter:
                await harness.mutation("bench:send", {"body": "hello world", "n": n})

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - started)
    finally:
        harness.close()


async def run_ceiling(folder: Path, total: int, concurrency: int, batch: int = 64) -> float:
    connection = sqlite3.connect(folder / "ceiling.sqlite3", check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, n REAL, body TEXT)")
    connection.execute("CREATE INDEX rows_n ON rows (n)")
    requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
    loop = asyncio.get_running_loop()

    def writer() -> None:
        while True:
            first = requests.get()
            if first is None:
                return
            items = [first]
            while len(items) < batch:
                try:
                    items.append(requests.get_nowait())
                except queue.Empty:
                    break
            connection.executemany(
                "INSERT INTO rows (n, body) VALUES (?, ?)", [(n, body) for n, body, _ in items]
            )
            connection.commit()
            for _, _, future in items:
                loop.call_soon_threadsafe(future.set_result, None)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    counter = iter(range(total))

    async def worker() -> None:
        for n in counter:
            future = loop.create_future()
            requests.put((n, json.dumps({"body": "hello world", "n": n}), future))
            await future

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rate = total / (time.perf_counter() - started)
    requests.put(None)
    thread.join()
    connection.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        ceiling = asyncio.run(run_ceiling(folder, options.mutations, options.concurrency))
        engine = asyncio.run(run_pyconvex(folder, options.mutations, options.concurrency))
    print(f"raw SQLite group commit (fsync, batch<=64): {ceiling:10,.0f} mutations/s")
    print(f"pyconvex mutations (durable, in-process):   {engine:10,.0f} mutations/s")
    print(f"ratio pyconvex / ceiling:                   {engine / ceiling:10.1%}")


if __name__ == "__main__":
    main()
