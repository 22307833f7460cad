"""Read sets: the index key intervals a transaction or query observed.

A read set is what makes pyconvex serializable rather than merely snapshot
isolated: every ``db.get`` records a point interval on ``by_id`` and every
index scan records the part of its range it consumed, including keys that did
not exist (phantoms). A later commit that writes any key inside any of these
intervals (the old or the new key of a document, in any index) conflicts with
the transaction (OCC) or invalidates the query (subscriptions).

Index id 0 is a virtual index over catalog names: reading a missing table
records its name there, and creating a table writes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["ALLOCATION_KEY", "CATALOG_INDEX_ID", "SCHEMA_KEY", "ReadSet"]

#: Virtual index of table names and schema versions; see the module docstring.
CATALOG_INDEX_ID = 0
#: The key of :data:`CATALOG_INDEX_ID` written by every schema or index change.
#: Encoded table names start with a type tag below 0xFF, so it never collides.
SCHEMA_KEY = b"\xff"
#: The key of :data:`CATALOG_INDEX_ID` written by every commit that allocates
#: table numbers or index ids when several nodes share a store (their
#: allocators are independent, so two creations must not commit concurrently).
ALLOCATION_KEY = b"\xff\x01"


class ReadSet:
    """Key intervals ``[start, end)`` per index id; ``end`` None means unbounded.

    Invariant: every interval has ``end is None or start < end``; empty
    intervals are never stored.
    """

    __slots__ = ("_intervals", "_count")

    def __init__(self) -> None:
        self._intervals: dict[int, list[tuple[bytes, bytes | None]]] = {}
        self._count = 0

    def add(self, index_id: int, start: bytes, end: bytes | None) -> None:
        """Record that the keys ``[start, end)`` of ``index_id`` were observed."""
        if end is not None and end <= start:
            return
        self._intervals.setdefault(index_id, []).append((start, end))
        self._count += 1

    def add_point(self, index_id: int, key: bytes) -> None:
        """Record that exactly ``key`` of ``index_id`` was observed."""
        self.add(index_id, key, key + b"\x00")

    def contains(self, index_id: int, key: bytes) -> bool:
        """Whether ``key`` of ``index_id`` lies in any recorded interval."""
        intervals = self._intervals.get(index_id)
        if intervals is None:
            return False
        for start, end in intervals:
            if start <= key and (end is None or key < end):
                return True
        return False

    def merge(self, other: ReadSet) -> None:
        """Add every interval of ``other`` (a nested call's reads) to this set."""
        for index_id, intervals in other._intervals.items():
            self._intervals.setdefault(index_id, []).extend(intervals)
        self._count += other._count

    def index_ids(self) -> Iterable[int]:
        """The indexes this read set has intervals in."""
        return self._intervals.keys()

    def intervals(self) -> Iterator[tuple[int, bytes, bytes | None]]:
        """Yield every recorded ``(index_id, start, end)``."""
        for index_id, intervals in self._intervals.items():
            for start, end in intervals:
                yield index_id, start, end

    def __len__(self) -> int:
        return self._count

    def check_invariants(self) -> None:
        """Assert the class invariant (used by tests)."""
        assert self._count == sum(len(v) for v in self._intervals.values())
        for _, start, end in self.intervals():
            assert end is None or start < end
