"""A thread-safe event count, cheap enough for hot paths.

The engine counts events (OCC conflicts, retries) with a :class:`Tally`; the
server's metrics read the counts when they are scraped. A plain ``int`` would
do on one thread, but mutations run on the server's loop and on action worker
threads alike, and ``+=`` on a shared attribute can lose increments there.
"""

from __future__ import annotations

import threading

__all__ = ["Tally"]


class Tally:
    """A count that only grows; :meth:`add` may be called from any thread.

    Invariant: :attr:`value` is the sum of every amount added.
    """

    __slots__ = ("_lock", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    def add(self, amount: int = 1) -> None:
        """Count ``amount`` more events."""
        with self._lock:
            self._value += amount

    @property
    def value(self) -> int:
        """How many events were counted."""
        return self._value

    def __repr__(self) -> str:
        return f"Tally({self._value})"
