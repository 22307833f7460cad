"""Worker pools and the watchdog (functions/workers.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from pyconvex.functions.workers import ExecutionInterrupted, Preempted, Watchdog, WorkerPool


async def test_a_pool_runs_at_most_size_executions_at_once() -> None:
    pool = WorkerPool("test", 3)
    running = 0
    peak = 0
    lock = threading.Lock()

    async def job() -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        await asyncio.sleep(0.02)
        with lock:
            running -= 1
        return threading.current_thread().name

    try:
        names = await asyncio.gather(*(pool.run(job) for _ in range(12)))
    finally:
        pool.close()
    assert peak == 3
    assert len(set(names)) == 3 and threading.current_thread().name not in names


async def test_the_watchdog_interrupts_an_overrunning_worker() -> None:
    pool = WorkerPool("test", 1)
    watchdog = Watchdog(period_seconds=0.01)

    async def spin() -> str:
        token = watchdog.watch(time.monotonic() + 0.1)
        try:
            while True:
                pass
        except ExecutionInterrupted:
            return "interrupted" if watchdog.unwatch(token) else "spurious"

    async def quick() -> str:
        return "fine"

    try:
        assert await pool.run(spin) == "interrupted"
        assert await pool.run(quick) == "fine"  # the worker survived
    finally:
        pool.close()
        watchdog.close()


def test_unwatch_before_the_deadline_reports_no_overrun() -> None:
    watchdog = Watchdog(period_seconds=0.01)
    token = watchdog.watch(time.monotonic() + 10)
    watchdog.extend(token, 5)
    assert watchdog.unwatch(token) is False
    watchdog.close()


async def test_a_cancelled_waiter_passes_its_worker_on() -> None:
    pool = WorkerPool("test", 1)
    try:
        worker = await pool.acquire()
        waiter = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        pool.release(worker)
        again = await asyncio.wait_for(pool.acquire(), 1)
        assert again is worker
        pool.release(again)
    finally:
        pool.close()


async def test_the_inline_monitor_preempts_only_a_running_execution() -> None:
    import sys

    from pyconvex.functions.workers import InlineMonitor, Preempted

    monitor = InlineMonitor(threshold_seconds=0.05, period_seconds=0.005)

    async def marked(body: Any) -> str:
        token = monitor.enter(sys._getframe())
        try:
            try:
                return await body()
            finally:
                monitor.exit(token)
        except Preempted:
            monitor.exit(token)
            return "preempted"

    async def spin() -> str:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pass
        return "finished"

    async def suspended() -> str:
        await asyncio.sleep(0.2)  # not holding the loop: must not be preempted
        return "finished"

    try:
        assert await marked(spin) == "preempted"
        assert await marked(suspended) == "finished"
        time.sleep(0.1)  # no stray interrupt arrives after the executions ended
    finally:
        monitor.close()


def test_an_interrupt_swallowed_by_a_gc_callback_is_not_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys
    import weakref

    from pyconvex.functions import workers

    reported: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(type(u.exc_value)))
    monkeypatch.setattr(workers, "_filter_installed", False)
    workers._ignore_swallowed_interrupts()

    class Thing:
        pass

    def landed(error: BaseException) -> Any:
        def callback(_: object) -> None:
            raise error

        return callback

    for error in (Preempted(), ExecutionInterrupted(), ValueError("real")):
        thing = Thing()
        keep = weakref.ref(thing, landed(error))
        del thing  # the callback runs now and its exception is "unraisable"
        assert keep() is None
    assert reported == [ValueError]
