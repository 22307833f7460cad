"""Worker threads that run function handlers, one execution per worker at a time.

Each worker is a thread with its own event loop. An execution takes a whole
worker, so a handler that blocks (a sync handler, or CPU-heavy code in an
async one) stalls only itself: other executions keep running on other
workers, sharing the CPU through the interpreter's thread switching. The
watchdog interrupts executions that overrun their time limit by raising
:class:`ExecutionInterrupted` inside their worker thread.

Pools are used from any event loop and any thread (an action running on one
pool calls queries on another).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pyconvex.interrupts as interrupts

__all__ = [
    "ExecutionInterrupted",
    "InlineMonitor",
    "Preempted",
    "Watchdog",
    "Worker",
    "WorkerPool",
]

T = TypeVar("T")
_monotonic = time.monotonic


class ExecutionInterrupted(BaseException):
    """Raised inside a worker whose execution ran past its time limit.

    A BaseException, so that app code catching ``Exception`` cannot swallow it.
    """


class Worker:
    """A thread running an event loop, lent to one execution at a time."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._ready.set()
        while True:
            try:
                self.loop.run_forever()
                break
            except ExecutionInterrupted:
                # An interrupt that arrived just after its execution finished.
                continue
        self.loop.close()

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on this worker's loop and wait for it from the caller's loop."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return await asyncio.wrap_future(future)

    def stop(self) -> None:
        """Stop the loop; the thread exits."""
        self.loop.call_soon_threadsafe(self.loop.stop)


class WorkerPool:
    """Up to ``size`` workers, created on demand; callers wait for a free one.

    Invariant: a worker is either idle (in ``_idle``) or lent to exactly one caller.
    """

    def __init__(self, name: str, size: int) -> None:
        self._name = name
        self._size = size
        self._lock = threading.Lock()
        self._idle: list[Worker] = []
        self._created = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[Worker]]] = deque()
        self._all: list[Worker] = []

    async def acquire(self) -> Worker:
        """A free worker (new if the pool is not full; else wait for one)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if self._created < self._size:
                self._created += 1
                create = True
            else:
                create = False
                loop = asyncio.get_running_loop()
                waiter: asyncio.Future[Worker] = loop.create_future()
                self._waiters.append((loop, waiter))
        if create:
            worker = Worker(f"pyconvex-{self._name}-{self._created}")
            with self._lock:
                self._all.append(worker)
            return worker
        return await waiter

    def release(self, worker: Worker) -> None:
        """Give ``worker`` back (to the longest-waiting caller, if any)."""
        with self._lock:
            while self._waiters:
                loop, waiter = self._waiters.popleft()
                if not waiter.done() and not loop.is_closed():
                    loop.call_soon_threadsafe(_hand_over, waiter, worker, self)
                    return
            self._idle.append(worker)

    async def run(self, coroutine_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run one execution on a free worker."""
        worker = await self.acquire()
        try:
            return await worker.run(coroutine_factory())
        finally:
            self.release(worker)

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers, self._all, self._idle = list(self._all), [], []
        for worker in workers:
            worker.stop()


def _hand_over(waiter: asyncio.Future[Worker], worker: Worker, pool: WorkerPool) -> None:
    if waiter.done():  # the caller gave up meanwhile: pass the worker on
        pool.release(worker)
    else:
        waiter.set_result(worker)


class _Watched:
    __slots__ = ("thread_id", "deadline", "fired")

    def __init__(self, thread_id: int, deadline: float) -> None:
        self.thread_id = thread_id
        self.deadline = deadline
        self.fired = False


class Watchdog:
    """Interrupts executions that run past their deadline.

    The deadline can move (database time does not count towards the user-code
    limit), so executions update it as they go through :meth:`extend`.
    """

    def __init__(self, period_seconds: float = 0.05) -> None:
        self._period = period_seconds
        self._lock = threading.Lock()
        self._watched: dict[int, _Watched] = {}
        self._next = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def watch(self, deadline: float) -> int:
        """Start watching the calling thread until ``deadline`` (monotonic seconds)."""
        with self._lock:
            self._next += 1
            self._watched[self._next] = _Watched(threading.get_ident(), deadline)
            if self._thread is None:
                _ignore_swallowed_interrupts()
                self._thread = threading.Thread(
                    target=self._run, name="pyconvex-watchdog", daemon=True
                )
                self._thread.start()
            return self._next

    def extend(self, token: int, seconds: float) -> None:
        """Move a watched execution's deadline ``seconds`` later."""
        with self._lock:
            watched = self._watched.get(token)
            if watched is not None:
                watched.deadline += seconds

    def unwatch(self, token: int) -> bool:
        """Stop watching the calling thread; return whether its deadline had passed.

        An interrupt raised but not yet delivered is cancelled, so after this
        returns the thread is never interrupted on behalf of this execution.
        """
        with self._lock:
            watched = self._watched.pop(token, None)
            if watched is None or not watched.fired:
                return False
            interrupts.cancel(watched.thread_id)
            return True

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            now = _monotonic()
            with self._lock:
                for watched in self._watched.values():
                    if not watched.fired and now > watched.deadline:
                        watched.fired = True
                        _raise_in_thread(watched.thread_id)

    def close(self) -> None:
        """Stop the watchdog thread."""
        self._stop.set()


def _raise_in_thread(thread_id: int) -> None:
    # Holding the watchdog lock here means unwatch() cannot complete between
    # the deadline check and the raise, so only a still-running execution is hit.
    interrupts.interrupt(thread_id, ExecutionInterrupted)


class Preempted(BaseException):
    """Raised in a handler that held its caller's event loop too long.

    The executor catches it and re-runs the execution on a worker thread,
    which is safe because queries and mutations have no effects before they
    return (the transaction is simply dropped).
    """


class _Inline:
    __slots__ = ("thread_id", "frame", "fire_at")

    def __init__(self, thread_id: int, frame: Any, fire_at: float) -> None:
        self.thread_id = thread_id
        self.frame = frame
        self.fire_at = fire_at


_filter_lock = threading.Lock()
_filter_installed = False


def _ignore_swallowed_interrupts() -> None:
    """Drop the report of an interrupt that landed in a GC or weakref callback.

    An asynchronous exception is delivered at the thread's next bytecode, which
    may belong to a callback the garbage collector runs meanwhile; Python then
    ignores it and reports it as "unraisable". That is expected: the monitor
    fires again and the watchdog's deadline still holds. Other reports pass on.
    """
    global _filter_installed
    with _filter_lock:
        if _filter_installed:
            return
        _filter_installed = True
        previous = sys.unraisablehook

        def hook(unraisable: Any) -> None:
            if isinstance(unraisable.exc_value, (Preempted, ExecutionInterrupted)):
                return
            previous(unraisable)

        sys.unraisablehook = hook


class InlineMonitor:
    """Preempts executions that run inline on an event loop and hold it too long.

    Each inline execution registers its marker frame (the frame of the
    coroutine wrapping it). The monitor raises :class:`Preempted` in the
    execution's thread only while that frame is on the thread's stack, that is
    while the handler is actually running rather than suspended at an await;
    the check and the raise happen under the lock that :meth:`exit` takes, and
    :meth:`exit` cancels an interrupt not yet delivered, so the interrupt can
    never land outside the execution.
    """

    def __init__(self, threshold_seconds: float, period_seconds: float = 0.005) -> None:
        self._threshold = threshold_seconds
        self._period = period_seconds
        self._lock = threading.Lock()
        self._entries: dict[int, _Inline] = {}
        self._fired: set[int] = set()
        self._next = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def enter(self, frame: Any) -> int:
        """Register an inline execution whose marker frame is ``frame``."""
        with self._lock:
            self._next += 1
            self._entries[self._next] = _Inline(
                threading.get_ident(), frame, _monotonic() + self._threshold
            )
            if self._thread is None:
                _ignore_swallowed_interrupts()
                self._thread = threading.Thread(
                    target=self._run, name="pyconvex-inline-monitor", daemon=True
                )
                self._thread.start()
            return self._next

    def exit(self, token: int) -> None:
        """Unregister; cancel an interrupt raised but not yet delivered. Idempotent."""
        with self._lock:
            entry = self._entries.pop(token, None)
            if token in self._fired:
                self._fired.discard(token)
                if entry is not None:
                    interrupts.cancel(entry.thread_id)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            now = _monotonic()
            with self._lock:
                due = [(t, e) for t, e in self._entries.items() if now >= e.fire_at]
                if not due:
                    continue
                frames = sys._current_frames()
                for token, entry in due:
                    if _on_stack(frames.get(entry.thread_id), entry.frame):
                        entry.fire_at = now + self._threshold  # again if swallowed
                        self._fired.add(token)
                        interrupts.interrupt(entry.thread_id, Preempted)

    def close(self) -> None:
        """Stop the monitor thread."""
        self._stop.set()


def _on_stack(top: Any, frame: Any) -> bool:
    while top is not None:
        if top is frame:
            return True
        top = top.f_back
    return False
