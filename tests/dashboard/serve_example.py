"""Serve the chat example with some data, for the dashboard's browser tests.

``python -m tests.dashboard.serve_example PORT DATA_DIR`` opens the example on
a SQLite database in DATA_DIR, seeds users, channels and tasks, prints
``{"url", "adminKey"}`` as one JSON line, and serves until killed. Its crons run
as in ``pyconvex dev``; the tests schedule jobs through the admin API, with the
example's own ``reports:scheduleWeekly``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import uvicorn

from pyconvex.application import Backend
from pyconvex.database.database import Database
from pyconvex.server.app import create_app

ROOT = Path(__file__).parents[2]
CHAT = ROOT / "examples" / "chat" / "convex"


def seed(database: Database) -> None:
    """Insert example rows."""
    now_ms = database.clock.now_ns() / 1e6
    transaction = database.begin(writable=True)
    ada = transaction.insert(
        "users",
        {
            "name": "Ada",
            "email": "ada@example.com",
            "tokenIdentifier": "demo|ada",
            "role": "admin",
            "createdAt": now_ms,
        },
    )
    transaction.insert(
        "channels",
        {"name": "general", "isPrivate": False, "memberIds": [ada], "createdAt": now_ms},
    )
    for title in ("write the docs", "ship the dashboard"):
        transaction.insert(
            "tasks",
            {
                "title": title,
                "status": "todo",
                "tags": [],
                "createdAt": now_ms,
                "updatedAt": now_ms,
            },
        )
    database.commit(transaction).result()


def main() -> None:
    port, data_dir = int(sys.argv[1]), Path(sys.argv[2])
    backend = Backend.open(CHAT, data_path=data_dir / "data.sqlite3")
    url = f"http://127.0.0.1:{port}"
    backend.set_url(url)
    # The interval cron runs once at start; before the tasks exist, it has none to send
    # to the AI API, so nothing here reaches for the network.
    assert backend.scheduler.wait_idle(30), "the first cron runs did not finish"
    seed(backend.database)
    print(json.dumps({"url": url, "adminKey": backend.admin_key}), flush=True)
    # Long polls (live updates, logs) must not hold up the end of the test.
    uvicorn.run(
        create_app(backend),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
