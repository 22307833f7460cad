"""Interrupts held back inside shielded calls (interrupts.py)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pyconvex import interrupts
from pyconvex.errors import ExecutionTimeoutError
from pyconvex.functions.registry import FunctionDefinition, FunctionKind
from pyconvex.testing import ConvexTest


class Stop(BaseException):
    pass


def _spin_until(predicate: Any) -> None:
    # Pure bytecode, so an asynchronous exception can land here.
    while not predicate():
        pass


def test_an_interrupt_outside_a_shield_lands_at_once() -> None:
    caught: list[BaseException] = []
    started = threading.Event()

    def target() -> None:
        try:
            started.set()
            _spin_until(lambda: False)
        except Stop as error:
            caught.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    started.wait()
    interrupts.interrupt(thread.ident or 0, Stop)
    thread.join(timeout=10)
    interrupts.cancel(thread.ident or 0)  # the interrupted work is over
    assert not thread.is_alive() and len(caught) == 1


def test_an_interrupt_inside_a_shield_is_raised_when_it_is_left() -> None:
    inside = threading.Event()
    sent = threading.Event()
    finished_block: list[bool] = []
    caught: list[BaseException] = []

    def target() -> None:
        try:
            with interrupts.shielded():
                inside.set()
                _spin_until(sent.is_set)
                time.sleep(0.05)  # room for an asynchronous exception to land, if one were sent
                finished_block.append(True)
        except Stop as error:
            caught.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    inside.wait()
    interrupts.interrupt(thread.ident or 0, Stop)
    sent.set()
    thread.join(timeout=10)
    interrupts.cancel(thread.ident or 0)
    assert finished_block == [True] and len(caught) == 1


def test_a_cancelled_interrupt_is_never_raised() -> None:
    inside = threading.Event()
    cancelled = threading.Event()
    outcome: list[str] = []

    def target() -> None:
        try:
            with interrupts.shielded():
                inside.set()
                _spin_until(cancelled.is_set)
            outcome.append("left cleanly")
        except Stop:
            outcome.append("interrupted")

    thread = threading.Thread(target=target)
    thread.start()
    inside.wait()
    interrupts.interrupt(thread.ident or 0, Stop)
    interrupts.cancel(thread.ident or 0)
    cancelled.set()
    thread.join(timeout=10)
    assert outcome == ["left cleanly"]


def test_shields_nest() -> None:
    thread_id = threading.get_ident()
    with pytest.raises(Stop):
        with interrupts.shielded():
            with interrupts.shielded():
                interrupts.interrupt(thread_id, Stop)
            time.sleep(0.01)  # still inside the outer shield: nothing lands
    interrupts.cancel(thread_id)


@pytest.mark.postgres
async def test_interrupts_never_break_a_postgres_connection(postgres_url: str) -> None:
    """Preemption (async handlers holding the loop) and time limits land anywhere in a
    handler, also while it waits for PostgreSQL; the connection must come back intact."""
    harness = ConvexTest(database_url=postgres_url)
    harness.executor.user_timeout_seconds = 0.05
    try:
        note = await harness.run(lambda ctx: ctx.db.insert("notes", {"n": 1}))

        async def reads(ctx: Any) -> int:
            for _ in range(300):  # far longer than the 10 ms an inline handler may run
                await ctx.db.get(note)
            return 300

        def busy(ctx: Any) -> None:
            while True:  # reads and CPU until the time limit interrupts it
                for _ in range(5):
                    ctx.db.get(note)
                sum(range(5_000))

        registry = harness.executor.registry
        registry.add("t:reads", FunctionDefinition(FunctionKind.QUERY, reads))
        registry.add("t:busy", FunctionDefinition(FunctionKind.QUERY, busy))
        for _ in range(5):
            assert await harness.query("t:reads") == 300
            with pytest.raises(ExecutionTimeoutError):
                await harness.query("t:busy")
        stats = harness.persistence._pool.get_stats()  # type: ignore[attr-defined]
        assert stats.get("returns_bad", 0) == 0 and stats.get("connections_lost", 0) == 0
        assert await harness.run(lambda ctx: ctx.db.get(note)) is not None
    finally:
        harness.close()
