"""Sync benchmark: fan-out, latency, executions per write, idle-connection memory.

One server process serves a one-number app (``counter:get`` / ``counter:set``) on
SQLite plus, on the same server, a raw WebSocket broadcast endpoint (the ceiling
of the socket layer: one pre-serialised message sent to every socket with the
same per-socket ``await send`` our sync endpoint uses). A Node process (the
``ws`` package the npm client ships) plays the clients:

1. fan-out: N subscribers of one query, one writer doing W sequential
   mutations over HTTP; deliveries/s, against the broadcast ceiling to N sockets;
2. commit-to-subscriber latency p50/p99 at 100 subscribers (from the commit
   timestamp, which is the wall clock at commit, to each subscriber's
   update), and the same from sending the HTTP mutation;
3. query executions per write with N subscribers (the shared cache makes it 1);
4. server memory (RSS) with 10,000 idle subscriptions.

Usage: ``python bench/sync_bench.py [--subscribers 1000] [--writes 50] [--idle 10000]``.
Prints numbers only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
NODE = ROOT / "tests" / "clients" / "node"  # its node_modules has `ws`

APP = """
from pyconvex import mutation, query, v

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

SERVER = """
import asyncio, json, sys, uvicorn
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from pyconvex.application import Backend
from pyconvex.server.app import create_app

backend = Backend.open(sys.argv[2], data_path=sys.argv[3])
app = create_app(backend)
sockets = set()
MESSAGE = json.dumps({"type": "Transition", "startVersion": {"querySet": 1, "identity": 0,
    "ts": "AAAAAAAAAAA="}, "endVersion": {"querySet": 1, "identity": 0, "ts": "AQAAAAAAAAA="},
    "modifications": [{"type": "QueryUpdated", "queryId": 0, "value": 1, "logLines": []}]})

async def bench_ws(websocket):
    await websocket.accept()
    sockets.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except Exception:
        sockets.discard(websocket)

async def broadcast(request):
    count = int(request.query_params["count"])
    async def pump(ws):
        for _ in range(count):
            await ws.send_text(MESSAGE)
    await asyncio.gather(*(pump(ws) for ws in list(sockets)))
    return JSONResponse({"sent": count * len(sockets)})

async def stats(request):
    return JSONResponse({"executions": app.state.sync_hub.cache.executions})

app.router.routes[:0] = [WebSocketRoute("/bench/ws", bench_ws),
    Route("/bench/broadcast", broadcast, methods=["POST"]), Route("/bench/stats", stats)]
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, backlog=4096)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _node(*args: str) -> dict[str, float]:
    output = subprocess.run(
        ["node", str(ROOT / "bench" / "sync_load.mjs"), *args],
        cwd=NODE,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, float] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--idle", type=int, default=10_000)
    options = parser.parse_args()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as directory:
        app = Path(directory) / "convex"
        app.mkdir()
        (app / "counter.py").write_text(APP)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port), str(app), f"{directory}/bench.sqlite3"]
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{url}/bench/stats")
                    break
                except httpx.ConnectError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.1)
            n, writes = options.subscribers, options.writes
            ceiling = _node("broadcast", url, str(n), str(writes))
            fanout = _node("fanout", url, str(n), str(writes))
            executions = fanout["executed"]  # counted from the first write to the last delivery
            latency = _node("fanout", url, "100", "200")
            rss_before = _rss_mb(server.pid)
            idle = subprocess.Popen(
                ["node", str(ROOT / "bench" / "sync_load.mjs"), "idle", url, str(options.idle)],
                cwd=NODE,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert idle.stdout is not None
            opened = json.loads(idle.stdout.readline())["open"]
            rss_after = _rss_mb(server.pid)
            assert idle.stdin is not None
            idle.stdin.close()
            idle.wait(timeout=60)
        finally:
            server.terminate()
            server.wait(timeout=30)
    ceiling_rate = ceiling["deliveries"] / ceiling["seconds"]
    rate = fanout["deliveries"] / fanout["seconds"]
    print(f"raw broadcast ceiling ({n} sockets, same server): {ceiling_rate:10,.0f} deliveries/s")
    print(
        f"fan-out ({n} subscribers, {writes} writes):      {rate:10,.0f} deliveries/s "
        f"({fanout['deliveries']:.0f}/{fanout['expected']:.0f} delivered)"
    )
    print(
        f"  (each write's HTTP round trip: p50 {fanout['writeP50']:.1f} ms, "
        f"max {fanout['writeMax']:.1f} ms)"
    )
    print(f"ratio fan-out / ceiling:                          {rate / ceiling_rate:10.1%}")
    print(f"query executions per write ({n} subscribers):   {executions / writes:10.2f}")
    print(
        f"commit-to-subscriber latency at 100 subscribers: p50 {latency['commitP50']:.1f} ms, "
        f"p99 {latency['commitP99']:.1f} ms"
    )
    print(
        f"  (from sending the HTTP mutation: p50 {latency['p50']:.1f} ms, "
        f"p99 {latency['p99']:.1f} ms)"
    )
    grown = rss_after - rss_before
    each = grown * 1024 / max(opened, 1)
    print(f"server memory, {opened} idle subscriptions:     {grown:8.0f} MiB more")
    print(f"  ({each:.1f} KiB each; server RSS {rss_after:.0f} MiB)")


if __name__ == "__main__":
    main()
