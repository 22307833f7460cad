"""Time, injected: the only module that reads the real clock.

Commit timestamps, ``_creationTime`` and the frozen time seen by queries and
mutations all come from a :class:`Clock`, so tests can use :class:`ManualClock`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]

# Captured at import so that pyconvex's determinism guard, which replaces
# time.time() inside queries and mutations, never affects the engine itself.
_time_ns = time.time_ns
_monotonic = time.monotonic


class Clock(Protocol):
    """A source of wall-clock and monotonic time."""

    def now_ns(self) -> int:
        """Nanoseconds since the Unix epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...


class SystemClock:
    """The real clock."""

    def now_ns(self) -> int:
        """Nanoseconds since the Unix epoch."""
        return _time_ns()

    def monotonic(self) -> float:
        """Seconds on the process's monotonic clock."""
        return _monotonic()


class ManualClock:
    """A clock that moves only when told to; for tests.

    Whatever waits for a time on this clock (the scheduler) registers with
    :meth:`add_listener` and is woken by every move, so tests never sleep.
    """

    def __init__(self, start_ns: int = 1_700_000_000_000_000_000) -> None:
        self._now_ns = start_ns
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now_ns(self) -> int:
        """The current manual time in nanoseconds."""
        with self._lock:
            return self._now_ns

    def monotonic(self) -> float:
        """The current manual time in seconds."""
        return self.now_ns() / 1e9

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` and tell the listeners."""
        with self._lock:
            self._now_ns += int(seconds * 1e9)
        self._moved()

    def set(self, now_ns: int) -> None:
        """Move the clock to ``now_ns`` (never backwards) and tell the listeners."""
        with self._lock:
            self._now_ns = max(self._now_ns, now_ns)
        self._moved()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (on the moving thread) after every move of the clock."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _moved(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
