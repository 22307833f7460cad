"""MemoryPersistence specifics: its invariant check, out-of-order writes, batch size."""

from __future__ import annotations

import pytest

from pyconvex.storage.base import DocumentRevision, IndexEntry
from pyconvex.storage.memory import MemoryPersistence


def test_out_of_order_timestamps_are_kept_sorted() -> None:
    # Index backfills write entries at old timestamps after newer ones.
    store = MemoryPersistence()
    store.write([DocumentRevision(b"d", 30, b"3", 20)], [IndexEntry(1, b"k", 30, b"d")])
    store.write([DocumentRevision(b"d", 10, b"1", None)], [IndexEntry(1, b"k", 10, b"d")])
    store.write([DocumentRevision(b"d", 20, b"2", 10)], [IndexEntry(1, b"k", 20, b"d")])
    store.check_invariants()
    assert [r.value for r in store.load_revisions(0, 30)] == [b"1", b"2", b"3"]
    assert [r.value for _, r in store.index_scan(1, b"", None, 25)] == [b"2"]
    assert store.max_ts() == 30


def test_check_invariants_notices_corruption() -> None:
    store = MemoryPersistence()
    store.write([DocumentRevision(b"d", 10, b"1", None)], [IndexEntry(1, b"k", 10, b"d")])
    store.check_invariants()
    store._max_ts = 99
    with pytest.raises(AssertionError):
        store.check_invariants()


def test_a_scan_copies_keys_in_bounded_batches() -> None:
    store = MemoryPersistence()
    keys = [i.to_bytes(2, "big") for i in range(5000)]
    store.write(
        [DocumentRevision(k, 1, k, None) for k in keys], [IndexEntry(1, k, 1, k) for k in keys]
    )
    examined: list[bytes] = []
    original = store._live

    def counting(key: bytes, versions: object, read_ts: int) -> object:
        examined.append(key)
        return original(key, versions, read_ts)  # type: ignore[arg-type]

    store._live = counting  # type: ignore[method-assign, assignment]
    rows = store.index_scan(1, b"", None, 1)
    assert [next(rows)[0] for _ in range(3)] == keys[:3]
    assert len(examined) == 64  # one first batch, not the index
    assert len(list(rows)) == 4997
    assert examined == keys
