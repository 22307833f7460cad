"""Several nodes on PostgreSQL: mutations/s and fan-out deliveries/s, in one run.

Three deployments of a small app, each fresh, one after the other:

* ``sqlite x1``: one server process on SQLite (fsync on);
* ``postgres x1``: one server process on PostgreSQL (a throwaway server started
  here, fsync on);
* ``postgres x2``: two server processes on that PostgreSQL database.

For each: function-execution throughput, mutations/s of ``bench:work`` (about
1 ms of Python, then a durable insert) run by the executor in each node's
process with no HTTP (32 concurrent loops per node); durable trivial
mutations/s (``bench:insert``, no conflicts) from a Node
closed-loop HTTP load with ``--connections`` spread over the nodes, and fan-out
deliveries/s (``--subscribers`` WebSocket subscribers of one query spread over
the nodes, one writer doing ``--writes`` sequential mutations through the
first; a subscriber may skip intermediate values, and the clock stops when
every one has seen the last). Everything (servers, PostgreSQL, load generators) shares this
machine's cores, so the ratios say how the processes share them.

Usage: ``python bench/multinode_bench.py [--seconds 5] [--connections 32]
[--subscribers 200] [--writes 40]``. Prints numbers only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from pyconvex.testing.postgres import TemporaryPostgres

ROOT = Path(__file__).resolve().parents[1]
NODE = ROOT / "tests" / "clients" / "node"  # its node_modules has `ws`

APP = """
from pyconvex import mutation, query, v

@mutation(args={"n": v.optional(v.number())})
async def insert(ctx, args):
    return await ctx.db.insert("items", {"n": args.get("n", 0)})

@mutation
async def work(ctx):
    # A mutation with some real work: about 1 ms of Python, then a durable insert.
    total = sum(i * i for i in range(10_000))
    return await ctx.db.insert("items", {"n": total % 1000})

@query
async def get(ctx):
    row = await ctx.db.query("counter").first()
    return 0.0 if row is None else row["value"]

@mutation(args={"value": v.number()})
async def set(ctx, args):
    row = await ctx.db.query("counter").first()
    if row is None:
        await ctx.db.insert("counter", {"value": args["value"]})
    else:
        await ctx.db.patch(row["_id"], {"value": args["value"]})
"""

# In-process load: the executor alone (no HTTP), CONCURRENCY mutation loops for SECONDS,
# starting at the wall-clock time START so that several such processes overlap.
EXECUTIONS = """
import asyncio, sys, time
from pyconvex.application import Backend

app, location, concurrency, seconds, start = sys.argv[1:]
backend = Backend.open(app, data_path=location)

async def main():
    await asyncio.sleep(max(0.0, float(start) - time.time()))
    deadline = time.monotonic() + float(seconds)
    done = 0
    async def loop():
        nonlocal done
        while time.monotonic() < deadline:
            await backend.executor.run_mutation("bench:work", {})
            done += 1
    began = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(int(concurrency))))
    print(done / (time.monotonic() - began), flush=True)

asyncio.run(main())
backend.close()
"""

SERVER = """
import sys, uvicorn
from pyconvex.application import Backend
from pyconvex.server.app import create_app

backend = Backend.open(sys.argv[2], data_path=sys.argv[3])
uvicorn.run(create_app(backend), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, backlog=4096)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(app: Path, location: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(app), location])
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.post(f"{url}/api/query", json={"path": "bench:get", "args": {}})
            return process, url
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("a server did not start") from None
            time.sleep(0.1)


def _http_load(url: str, connections: int, seconds: float) -> tuple[int, float]:
    body = json.dumps({"path": "bench:insert", "args": {}, "format": "json"})
    output = subprocess.run(
        [
            "node",
            str(ROOT / "bench" / "http_load.mjs"),
            f"{url}/api/mutation",
            body,
            str(connections),
            str(seconds),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(output.stdout)
    if result["errors"]:
        raise RuntimeError(f"{result['errors']} failed requests against {url}")
    return int(result["requests"]), float(result["seconds"])


def _mutations_per_second(urls: list[str], connections: int, seconds: float) -> float:
    each = max(1, connections // len(urls))
    with ThreadPoolExecutor(len(urls)) as pool:
        results = list(pool.map(lambda url: _http_load(url, each, seconds), urls))
    return sum(count for count, _ in results) / max(elapsed for _, elapsed in results)


def _fanout_per_second(urls: list[str], subscribers: int, writes: int) -> float:
    output = subprocess.run(
        [
            "node",
            str(ROOT / "bench" / "multinode_load.mjs"),
            ",".join(urls),
            str(subscribers),
            str(writes),
        ],
        cwd=NODE,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result = json.loads(output.stdout.strip().splitlines()[-1])
    if result["caughtUp"] < subscribers:
        print(f"  (only {result['caughtUp']}/{subscribers} subscribers saw the last write)")
    return float(result["deliveries"] / result["seconds"])


def _executions_per_second(app: Path, location: str, nodes: int, seconds: float) -> float:
    start = time.time() + 8  # every process has opened its backend by then
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", EXECUTIONS, str(app), location, "32", str(seconds), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(nodes)
    ]
    rates = [float(process.communicate(timeout=300)[0].strip()) for process in processes]
    return sum(rates)


def _measure(app: Path, location: str, nodes: int, options: argparse.Namespace) -> dict[str, float]:
    executions = _executions_per_second(app, location, nodes, options.seconds)
    servers = [_start(app, location) for _ in range(nodes)]
    urls = [url for _, url in servers]
    try:
        mutations = _mutations_per_second(urls, options.connections, options.seconds)
        fanout = _fanout_per_second(urls, options.subscribers, options.writes)
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=30)
    return {"executions": executions, "mutations": mutations, "fanout": fanout}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--writes", type=int, default=40)
    options = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as directory, TemporaryPostgres(durable=True) as pg:
        folder = Path(directory)
        for name, nodes in (("sqlite x1", 1), ("postgres x1", 1), ("postgres x2", 2)):
            app = folder / name.replace(" ", "_") / "convex"
            app.mkdir(parents=True)
            (app / "bench.py").write_text(APP)
            if name.startswith("sqlite"):
                location = str(app.parent / "data.sqlite3")
            else:
                location = pg.create_database(name.replace(" ", "_"))
            results[name] = _measure(app, location, nodes, options)
            result = results[name]
            print(
                f"{name:12} executions {result['executions']:7,.0f}/s   HTTP mutations "
                f"{result['mutations']:7,.0f}/s   fan-out {result['fanout']:7,.0f} deliveries/s",
                flush=True,
            )
    sqlite, one, two = results["sqlite x1"], results["postgres x1"], results["postgres x2"]
    print()
    for label, top, bottom in (
        ("postgres x2 / postgres x1", two, one),
        ("postgres x1 / sqlite x1  ", one, sqlite),
    ):
        ratios = "  ".join(f"{key} {top[key] / bottom[key]:5.2f}x" for key in top)
        print(f"{label}: {ratios}")


if __name__ == "__main__":
    main()
