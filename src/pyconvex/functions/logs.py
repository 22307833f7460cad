"""Function-run logs: every execution's path, kind, duration, outcome and log lines.

The executor records a :class:`FunctionRun` for every top-level call. The
:class:`FunctionLogs` buffer keeps the newest ones for ``pyconvex logs`` (read by
cursor, with long polling) and calls listeners (``pyconvex dev`` prints runs).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

__all__ = ["FunctionLogs", "FunctionRun", "claim_trigger", "format_run", "triggered_by"]

#: What started the next top-level run (the scheduler, a cron job); None: a client.
_trigger: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "pyconvex_run_trigger", default=None
)


@contextmanager
def triggered_by(trigger: str) -> Iterator[None]:
    """Label the runs started inside this block (``"scheduled"``, ``'cron "name"'``)."""
    token = _trigger.set(trigger)
    try:
        yield
    finally:
        _trigger.reset(token)


def claim_trigger() -> tuple[str | None, contextvars.Token[str | None]]:
    """The label of a run that starts now; its nested calls are not labeled again.

    Reset the returned token when the run ends.
    """
    return _trigger.get(), _trigger.set(None)


class FunctionRun(NamedTuple):
    """One finished function execution (a named tuple: one is made per call).

    Attributes:
        id: increasing number; cursors are ids.
        path: the function's canonical path.
        kind: ``"query"``, ``"mutation"``, ``"action"`` or ``"http"``.
        started_at_ms: wall-clock start, milliseconds since the epoch.
        duration_ms: how long it took, retries included.
        outcome: ``"success"`` or ``"failure"``.
        error: the error message of a failure.
        log_lines: the function's own log lines (``[LOG] ...``).
        trigger: what started it, when not a client: ``"scheduled"`` or ``'cron "name"'``.
    """

    id: int
    path: str
    kind: str
    started_at_ms: float
    duration_ms: float
    outcome: str
    error: str | None = None
    log_lines: tuple[str, ...] = ()
    trigger: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form served by the admin logs endpoint."""
        return {
            "id": self.id,
            "path": self.path,
            "kind": self.kind,
            "startedAt": self.started_at_ms,
            "durationMs": self.duration_ms,
            "outcome": self.outcome,
            "error": self.error,
            "logLines": list(self.log_lines),
            "trigger": self.trigger,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FunctionRun:
        """Read the JSON form back (the CLI's side of the logs endpoint)."""
        return cls(
            data["id"],
            data["path"],
            data["kind"],
            data["startedAt"],
            data["durationMs"],
            data["outcome"],
            data.get("error"),
            tuple(data.get("logLines", ())),
            data.get("trigger"),
        )


def format_run(run: FunctionRun) -> str:
    """A run as terminal lines: a header, then its log lines and error, indented."""
    letter = {"query": "Q", "mutation": "M", "action": "A", "http": "H"}.get(run.kind, "?")
    mark = "✓" if run.outcome == "success" else "✗"
    source = f" [{run.trigger}]" if run.trigger else ""
    lines = [f"{mark} {letter} {run.path} ({run.duration_ms:.1f} ms){source}"]
    lines += [f"    {line}" for line in run.log_lines]
    if run.error:
        lines += [f"    {line}" for line in run.error.splitlines()]
    return "\n".join(lines)


class FunctionLogs:
    """A bounded buffer of recent runs, readable by cursor, with listeners.

    Thread-safe: runs are recorded from any thread. Invariant: ids increase by
    one; the buffer holds the newest ``capacity`` runs.
    """

    def __init__(self, capacity: int = 2000) -> None:
        self._runs: deque[FunctionRun] = deque(maxlen=capacity)
        self._next_id = 1
        self._lock = threading.Lock()
        self._listeners: list[Callable[[FunctionRun], None]] = []
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def record(self, **fields: Any) -> FunctionRun:
        """Record a run (``FunctionRun`` fields but ``id``) and tell listeners and waiters."""
        return self.record_run(**fields)

    def record_run(
        self,
        path: str,
        kind: str,
        started_at_ms: float,
        duration_ms: float,
        outcome: str,
        error: str | None = None,
        log_lines: tuple[str, ...] = (),
        trigger: str | None = None,
    ) -> FunctionRun:
        """Like :meth:`record`, with the fields in ``FunctionRun`` order (every call makes one)."""
        listeners: list[Callable[[FunctionRun], None]] = []
        waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        with self._lock:
            run = FunctionRun(
                self._next_id,
                path,
                kind,
                started_at_ms,
                duration_ms,
                outcome,
                error,
                log_lines,
                trigger,
            )
            self._next_id += 1
            self._runs.append(run)
            if self._waiters:
                waiters, self._waiters = self._waiters, []
            if self._listeners:
                listeners = list(self._listeners)
        for listener in listeners:
            listener(run)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)
        return run

    def add_listener(
        self, listener: Callable[[FunctionRun], None], *, replay: bool = False
    ) -> None:
        """Call ``listener(run)`` for every run from now on (on the recording thread).

        With ``replay``, first for the runs still buffered, each run exactly once
        (the scheduler may have run jobs before the listener was added).
        """
        with self._lock:
            earlier = list(self._runs) if replay else []
            self._listeners.append(listener)
        for run in earlier:
            listener(run)

    def since(self, cursor: int, limit: int = 500) -> tuple[list[FunctionRun], int]:
        """Runs with ``id > cursor`` (oldest first) and the cursor to continue from."""
        with self._lock:
            runs = [run for run in self._runs if run.id > cursor][:limit]
            next_cursor = runs[-1].id if runs else max(cursor, self._next_id - 1)
            return runs, next_cursor

    async def wait(self, cursor: int, timeout_seconds: float) -> tuple[list[FunctionRun], int]:
        """Like :meth:`since`, but wait up to ``timeout_seconds`` for a new run."""
        runs, next_cursor = self.since(cursor)
        if runs:
            return runs, next_cursor
        event = asyncio.Event()
        with self._lock:
            if self._next_id - 1 > cursor:
                event.set()
            else:
                self._waiters.append((asyncio.get_running_loop(), event))
        try:
            await asyncio.wait_for(event.wait(), timeout_seconds)
        except TimeoutError:
            pass
        return self.since(cursor)
