"""``pyconvex logs``: stream a deployment's function runs.

Every run (path, kind, duration, outcome, the function's own log lines) is
printed as it happens, by long polling ``GET /api/admin/logs?cursor=&wait=``,
until Ctrl-C. ``--history N`` first prints the N most recent earlier runs
(``--history`` alone: all the deployment still holds); ``--once`` prints what
exists and exits; ``--jsonl`` prints the raw entries, one JSON object a line.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

import click

from pyconvex.cli.client import AdminClient, DeploymentError
from pyconvex.cli.config import find_config, resolve_target, target_options
from pyconvex.cli.main import main
from pyconvex.functions.logs import FunctionRun, format_run

__all__ = ["logs"]

_ENDPOINT = "/api/admin/logs"
# The server holds a poll open this long when nothing happens; the client
# waits a little longer before calling the request lost.
_POLL_SECONDS = 20
_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


@main.command()
@target_options
@click.option(
    "--history",
    type=int,
    is_flag=False,
    flag_value=-1,
    default=None,
    metavar="[N]",
    help="First show the N most recent runs (alone: every run the deployment still holds).",
)
@click.option("--jsonl", is_flag=True, default=False, help="Print raw entries as JSON lines.")
@click.option(
    "--once",
    is_flag=True,
    default=False,
    help="Print the runs the deployment holds (all, or --history N) and exit.",
)
def logs(
    url: str | None,
    prod: bool,
    admin_key: str | None,
    history: int | None,
    jsonl: bool,
    once: bool,
) -> None:
    """Stream function runs from a deployment until Ctrl-C."""
    target = resolve_target(find_config(), url=url, prod=prod, admin_key=admin_key)
    if history is None:
        history = -1 if once else 0
    with AdminClient(target.url, target.require_admin_key()) as client:
        past, cursor = _backlog(client, history)
        for entry in past:
            _print(entry, jsonl)
        if once:
            return
        click.echo(f"Watching logs of {target.url} (Ctrl-C to stop)...", err=True)
        try:
            _follow(client, cursor, jsonl)
        except KeyboardInterrupt:
            return


def _backlog(client: AdminClient, history: int) -> tuple[list[dict[str, Any]], int]:
    """The newest ``history`` entries (-1: all) and the cursor after everything held now."""
    keep: deque[dict[str, Any]] = deque(maxlen=None if history < 0 else history)
    cursor = 0
    while True:
        entries, next_cursor = _poll(client, cursor, 0)
        keep.extend(entries)
        if not entries or next_cursor == cursor:
            return list(keep), next_cursor
        cursor = next_cursor


def _follow(client: AdminClient, cursor: int, jsonl: bool) -> None:
    failures = 0
    while True:
        try:
            entries, cursor = _poll(client, cursor, _POLL_SECONDS)
        except DeploymentError as error:
            # A restarting `pyconvex dev` is briefly unreachable or failing:
            # keep trying; but a refused key or a missing endpoint will not fix itself.
            if error.status is not None and error.status < 500:
                raise
            delay = _RETRY_SECONDS[min(failures, len(_RETRY_SECONDS) - 1)]
            if failures == 0:
                click.echo(f"{error.message}; retrying...", err=True)
            failures += 1
            time.sleep(delay)
            continue
        if failures:
            click.echo("Reconnected.", err=True)
            failures = 0
        for entry in entries:
            _print(entry, jsonl)


def _poll(client: AdminClient, cursor: int, wait: int) -> tuple[list[dict[str, Any]], int]:
    answer = client.get(_ENDPOINT, params={"cursor": cursor, "wait": wait}, timeout=wait + 10.0)
    entries = answer.get("entries") if isinstance(answer, dict) else None
    next_cursor = answer.get("cursor") if isinstance(answer, dict) else None
    if not isinstance(entries, list) or not isinstance(next_cursor, int):
        raise DeploymentError(f"{client.url}{_ENDPOINT} answered without entries and a cursor")
    return [e for e in entries if isinstance(e, dict)], next_cursor


def _print(entry: dict[str, Any], jsonl: bool) -> None:
    if jsonl:
        click.echo(json.dumps(entry, sort_keys=True))
        return
    try:
        click.echo(format_run(FunctionRun.from_json(entry)))
    except (KeyError, TypeError, ValueError):
        click.echo(json.dumps(entry, sort_keys=True))  # a newer server's shape: show it raw
