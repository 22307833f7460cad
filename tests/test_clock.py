"""Clocks (clock.py)."""

from __future__ import annotations

import time

from pyconvex.clock import ManualClock, SystemClock


def test_system_clock_reads_real_time() -> None:
    clock = SystemClock()
    assert abs(clock.now_ns() / 1e9 - time.time()) < 5
    first = clock.monotonic()
    assert clock.monotonic() >= first


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(start_ns=1_000)
    assert clock.now_ns() == 1_000
    clock.advance(2.5)
    assert clock.now_ns() == 1_000 + 2_500_000_000
    assert clock.monotonic() == clock.now_ns() / 1e9


def test_manual_clock_tells_its_listeners_when_it_moves() -> None:
    clock = ManualClock(start_ns=1_000)
    moves: list[int] = []

    def listener() -> None:
        moves.append(clock.now_ns())

    clock.add_listener(listener)
    clock.advance(1)
    clock.set(5_000_000_000)
    clock.set(0)  # never backwards
    clock.remove_listener(listener)
    clock.advance(1)
    assert moves == [1_000_001_000, 5_000_000_000, 5_000_000_000]
