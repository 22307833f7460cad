"""Read sets (database/readset.py)."""

from __future__ import annotations

from pyconvex.database.readset import ReadSet


def test_intervals_are_half_open_and_per_index() -> None:
    reads = ReadSet()
    reads.add(1, b"b", b"d")
    assert reads.contains(1, b"b") and reads.contains(1, b"c\xff")
    assert not reads.contains(1, b"d") and not reads.contains(1, b"a")
    assert not reads.contains(2, b"c")
    reads.check_invariants()


def test_unbounded_and_point_intervals() -> None:
    reads = ReadSet()
    reads.add(1, b"m", None)
    reads.add_point(2, b"key")
    assert reads.contains(1, b"\xff\xff")
    assert reads.contains(2, b"key") and not reads.contains(2, b"key\x00")
    assert len(reads) == 2


def test_empty_intervals_are_not_stored() -> None:
    reads = ReadSet()
    reads.add(1, b"b", b"b")
    reads.add(1, b"c", b"a")
    assert len(reads) == 0 and not reads.contains(1, b"b")


def test_merge() -> None:
    left, right = ReadSet(), ReadSet()
    left.add_point(1, b"a")
    right.add_point(2, b"b")
    left.merge(right)
    assert left.contains(2, b"b") and len(left) == 2
    left.check_invariants()
