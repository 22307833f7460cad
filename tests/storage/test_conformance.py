"""One behaviour suite for every Persistence backend (pyconvex.storage.base's contract).

To add a backend, add a ``Backend`` to ``BACKENDS``; every test runs on it.
PostgreSQL's runs carry the ``postgres`` marker (``pytest -m postgres``): they
need a server, which ``tests/pg_server.py`` starts once per session.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pyconvex.storage.base import DocumentRevision, IndexEntry, Persistence
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.storage.postgres import PostgresPersistence
from pyconvex.storage.sqlite import SqlitePersistence
from tests import pg_server


@dataclass(frozen=True)
class Backend:
    """How to open a backend on a scratch directory, and whether it survives reopening."""

    name: str
    open: Callable[[Path], Persistence]
    durable: bool
    marks: tuple[pytest.MarkDecorator, ...] = ()


BACKENDS = [
    pytest.param(backend, marks=backend.marks, id=backend.name)
    for backend in [
        Backend("memory", lambda _: MemoryPersistence(), durable=False),
        Backend(
            "sqlite", lambda directory: SqlitePersistence(directory / "db.sqlite3"), durable=True
        ),
        Backend(
            "postgres",
            # One database per directory, so reopening the same folder reopens it.
            lambda directory: PostgresPersistence(pg_server.database_for(directory)),
            durable=True,
            marks=(pytest.mark.postgres,),
        ),
    ]
]
DURABLE = [param for param in BACKENDS if param.values[0].durable]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Persistence]:
    persistence = request.param.open(tmp_path)
    yield persistence
    if isinstance(persistence, MemoryPersistence):
        persistence.check_invariants()
    persistence.close()


# -- helpers ---------------------------------------------------------------------------

INDEX = 7


def doc(name: str) -> bytes:
    return b"doc-" + name.encode()


def put(
    store: Persistence,
    ts: int,
    name: str,
    key: bytes,
    *,
    index_id: int = INDEX,
    prev_ts: int | None = None,
) -> None:
    """Write one revision of document ``name`` at ``ts``, indexed under ``key``."""
    store.write(
        [DocumentRevision(doc(name), ts, f"{name}@{ts}".encode(), prev_ts)],
        [IndexEntry(index_id, key, ts, doc(name))],
    )


def scan(
    store: Persistence,
    read_ts: int,
    start: bytes = b"",
    end: bytes | None = None,
    *,
    reverse: bool = False,
    index_id: int = INDEX,
) -> list[tuple[bytes, bytes | None]]:
    """Return ``(key, value)`` of a whole scan."""
    rows = store.index_scan(index_id, start, end, read_ts, reverse=reverse)
    return [(key, revision.value) for key, revision in rows]


# -- empty store -----------------------------------------------------------------------


def test_an_empty_store_has_no_data(store: Persistence) -> None:
    assert store.max_ts() == 0
    assert scan(store, 100) == []
    assert scan(store, 100, reverse=True) == []
    assert store.get_revision(doc("a"), 100) is None
    assert list(store.load_revisions(0, 100)) == []
    assert store.get_global("catalog") is None


def test_an_empty_write_changes_nothing(store: Persistence) -> None:
    store.write([], [])
    assert store.max_ts() == 0


# -- snapshot reads --------------------------------------------------------------------


def test_reads_see_a_write_only_at_or_after_its_ts(store: Persistence) -> None:
    put(store, 10, "a", b"k")
    assert scan(store, 9) == []
    assert scan(store, 10) == [(b"k", b"a@10")]
    assert scan(store, 11) == [(b"k", b"a@10")]
    assert store.max_ts() == 10


def test_each_read_ts_sees_the_version_of_its_time(store: Persistence) -> None:
    put(store, 10, "a", b"k")
    put(store, 20, "a", b"k", prev_ts=10)
    put(store, 30, "a", b"k", prev_ts=20)
    assert scan(store, 15) == [(b"k", b"a@10")]
    assert scan(store, 20) == [(b"k", b"a@20")]
    assert scan(store, 10**18) == [(b"k", b"a@30")]
    [(key, revision)] = list(store.index_scan(INDEX, b"", None, 25))
    assert revision == DocumentRevision(doc("a"), 20, b"a@20", 10)


def test_a_tombstone_hides_a_key_from_its_ts_on(store: Persistence) -> None:
    put(store, 10, "a", b"k")
    put(store, 10, "b", b"l", index_id=INDEX + 1)
    store.write(
        [DocumentRevision(doc("a"), 20, None, 10)],
        [IndexEntry(INDEX, b"k", 20, None)],
    )
    assert scan(store, 19) == [(b"k", b"a@10")]
    assert scan(store, 20) == []
    assert scan(store, 20, reverse=True) == []
    put(store, 30, "a2", b"k")  # the key comes back, for another document
    assert scan(store, 30) == [(b"k", b"a2@30")]
    assert scan(store, 25) == []


def test_a_document_whose_key_changes_moves_in_the_index(store: Persistence) -> None:
    put(store, 10, "a", b"old")
    put(store, 10, "b", b"m")
    store.write(
        [DocumentRevision(doc("a"), 20, b"a@20", 10)],
        [IndexEntry(INDEX, b"old", 20, None), IndexEntry(INDEX, b"zzz", 20, doc("a"))],
    )
    assert scan(store, 10) == [(b"m", b"b@10"), (b"old", b"a@10")]
    assert scan(store, 20) == [(b"m", b"b@10"), (b"zzz", b"a@20")]
    assert scan(store, 20, reverse=True) == [(b"zzz", b"a@20"), (b"m", b"b@10")]


def test_scans_are_confined_to_their_index(store: Persistence) -> None:
    put(store, 10, "a", b"k", index_id=1)
    put(store, 11, "b", b"k", index_id=2)
    assert scan(store, 20, index_id=1) == [(b"k", b"a@10")]
    assert scan(store, 20, index_id=2) == [(b"k", b"b@11")]
    assert scan(store, 20, index_id=3) == []


# -- ranges and order ------------------------------------------------------------------

KEYS = [b"", b"\x00", b"a", b"a\x00", b"ab", b"b", b"\xff", b"\xff\xff"]


@pytest.fixture
def ranged(store: Persistence) -> Persistence:
    store.write(
        [DocumentRevision(doc(key.hex()), 5, key, None) for key in KEYS],
        [IndexEntry(INDEX, key, 5, doc(key.hex())) for key in KEYS],
    )
    return store


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (b"", None, KEYS),
        (b"a", None, [b"a", b"a\x00", b"ab", b"b", b"\xff", b"\xff\xff"]),
        (b"a", b"b", [b"a", b"a\x00", b"ab"]),
        (b"a\x00", b"ab", [b"a\x00"]),
        (b"", b"\x00", [b""]),
        (b"\xff", None, [b"\xff", b"\xff\xff"]),
        (b"a", b"a", []),
        (b"b", b"a", []),
        (b"c", b"d", []),
        (b"\xff\xff\x00", None, []),
    ],
)
def test_ranges_are_half_open_in_both_orders(
    ranged: Persistence, start: bytes, end: bytes | None, expected: list[bytes]
) -> None:
    forward = [key for key, _ in scan(ranged, 5, start, end)]
    backward = [key for key, _ in scan(ranged, 5, start, end, reverse=True)]
    assert forward == expected
    assert backward == expected[::-1]


def test_long_scans_cross_batch_boundaries_in_both_orders(store: Persistence) -> None:
    keys = [i.to_bytes(2, "big") for i in range(3000)]
    # Every third key is deleted and every fifth rewritten, so batches hold
    # tombstones and several versions of a key.
    store.write(
        [DocumentRevision(doc(k.hex()), 1, b"v1", None) for k in keys],
        [IndexEntry(INDEX, k, 1, doc(k.hex())) for k in keys],
    )
    store.write(
        [DocumentRevision(doc(k.hex()), 2, b"v2", 1) for k in keys[::5]],
        [IndexEntry(INDEX, k, 2, doc(k.hex())) for k in keys[::5]],
    )
    store.write([], [IndexEntry(INDEX, k, 3, None) for k in keys[::3]])
    expected = [(k, b"v2" if i % 5 == 0 else b"v1") for i, k in enumerate(keys) if i % 3 != 0]
    assert scan(store, 3) == expected
    assert scan(store, 3, reverse=True) == expected[::-1]
    assert len(scan(store, 2)) == 3000
    middle = [row for row in expected if keys[100] <= row[0] < keys[2900]]
    assert scan(store, 3, keys[100], keys[2900]) == middle
    assert scan(store, 3, keys[100], keys[2900], reverse=True) == middle[::-1]


# -- laziness --------------------------------------------------------------------------


@pytest.fixture
def big(store: Persistence) -> Persistence:
    keys = [i.to_bytes(4, "big") for i in range(0, 20_000, 2)]  # 10,000 even keys
    store.write(
        [DocumentRevision(doc(k.hex()), 1, k, None) for k in keys],
        [IndexEntry(INDEX, k, 1, doc(k.hex())) for k in keys],
    )
    return store


@pytest.mark.parametrize("reverse", [False, True], ids=["asc", "desc"])
def test_scans_read_lazily(big: Persistence, reverse: bool) -> None:
    rows = big.index_scan(INDEX, b"", None, 1, reverse=reverse)
    first = [next(rows) for _ in range(3)]
    assert [k for k, _ in first] == (
        [b"\0\0\0\0", b"\0\0\0\2", b"\0\0\0\4"]
        if not reverse
        else [(19_998).to_bytes(4, "big"), (19_996).to_bytes(4, "big"), (19_994).to_bytes(4, "big")]
    )
    # A key written now, far down the range and "in the past", can only show
    # up if the rest of the range has not been read yet. (The engine never
    # writes at ts <= a snapshot being read; this only probes laziness.)
    late = (10_001).to_bytes(4, "big")
    big.write([DocumentRevision(b"late", 1, b"late", None)], [IndexEntry(INDEX, late, 1, b"late")])
    rest = [key for key, _ in rows]
    assert late in rest
    assert len(first) + len(rest) == 10_001


def test_abandoned_scans_release_nothing_they_should_not(big: Persistence) -> None:
    for _ in range(50):
        rows = big.index_scan(INDEX, b"", None, 1)
        next(rows)
        del rows
    abandoned = big.index_scan(INDEX, b"", None, 1, reverse=True)
    next(abandoned)
    put(big, 2, "after", b"\xff")  # writes go through while a scan is suspended
    assert scan(big, 2, b"\xff") == [(b"\xff", b"after@2")]
    assert big.max_ts() == 2


def test_writing_while_scanning_in_the_same_thread(store: Persistence) -> None:
    keys = [i.to_bytes(2, "big") for i in range(1000)]
    store.write(
        [DocumentRevision(doc(k.hex()), 1, k, None) for k in keys],
        [IndexEntry(INDEX, k, 1, doc(k.hex())) for k in keys],
    )
    seen = []
    chunk: list[IndexEntry] = []
    for ts, (key, revision) in enumerate(store.index_scan(INDEX, b"", None, 1), start=2):
        seen.append(key)
        # Like an index backfill: derive entries in another index from the rows,
        # written in chunks while the scan is suspended.
        chunk.append(IndexEntry(INDEX + 1, key[::-1], revision.ts, revision.doc_id))
        if len(chunk) == 37:
            store.write([], chunk)
            chunk = []
        if ts % 100 == 0:
            put(store, ts, f"new{ts}", key + b"!")  # and new keys at later ts, between rows
    store.write([], chunk)
    assert seen == keys
    assert len(scan(store, 1, index_id=INDEX + 1)) == 1000


# -- documents, log, globals ------------------------------------------------------------


def test_get_revision_returns_the_version_at_read_ts(store: Persistence) -> None:
    a = doc("a")
    store.write([DocumentRevision(a, 10, b"one", None)], [])
    store.write([DocumentRevision(a, 20, b"two", 10)], [])
    store.write([DocumentRevision(a, 30, None, 20)], [])
    assert store.get_revision(a, 9) is None
    assert store.get_revision(a, 10) == DocumentRevision(a, 10, b"one", None)
    assert store.get_revision(a, 29) == DocumentRevision(a, 20, b"two", 10)
    assert store.get_revision(a, 30) == DocumentRevision(a, 30, None, 20)
    assert store.get_revision(a, 10**18) == DocumentRevision(a, 30, None, 20)
    assert store.get_revision(doc("b"), 10**18) is None
    assert store.get_revision(a[:-1], 10**18) is None  # ids are matched exactly


def test_load_revisions_is_ordered_by_ts_then_doc_id_and_bounded(store: Persistence) -> None:
    ids = [bytes([b]) for b in (3, 1, 2)]
    store.write([DocumentRevision(i, 20, b"x", None) for i in ids], [])
    store.write([DocumentRevision(i, 10, b"x", None) for i in ids], [])
    store.write([DocumentRevision(b"\x00", 30, None, None)], [])
    order = [(r.ts, r.doc_id) for r in store.load_revisions(0, 30)]
    assert order == [(10, b"\1"), (10, b"\2"), (10, b"\3"), (20, b"\1"), (20, b"\2")] + [
        (20, b"\3"),
        (30, b"\0"),
    ]
    assert [(r.ts, r.doc_id) for r in store.load_revisions(10, 20)] == order[3:6]
    assert [r.ts for r in store.load_revisions(9, 10)] == [10, 10, 10]
    assert list(store.load_revisions(30, 100)) == []
    assert list(store.load_revisions(20, 20)) == []
    assert list(store.load_revisions(0, 9)) == []
    [deleted] = store.load_revisions(20, 30)
    assert deleted == DocumentRevision(b"\x00", 30, None, None)


def test_load_revisions_crosses_batch_boundaries(store: Persistence) -> None:
    store.write([DocumentRevision(i.to_bytes(2, "big"), 5, b"", None) for i in range(700)], [])
    store.write([DocumentRevision(i.to_bytes(2, "big"), 6, b"", 5) for i in range(700)], [])
    loaded = [(r.ts, r.doc_id) for r in store.load_revisions(0, 6)]
    assert loaded == sorted(loaded)
    assert len(loaded) == len(set(loaded)) == 1400


def test_globals_are_overwritten(store: Persistence) -> None:
    store.write([], [], [("catalog", "v1"), ("other", "x")])
    store.write([], [], [("catalog", "v2")])
    assert store.get_global("catalog") == "v2"
    assert store.get_global("other") == "x"
    assert store.get_global("missing") is None
    assert store.max_ts() == 0


def test_max_ts_counts_index_entries_written_alone(store: Persistence) -> None:
    put(store, 10, "a", b"k")
    store.write([], [IndexEntry(INDEX + 1, b"k", 50, doc("a"))])
    store.write([], [IndexEntry(INDEX + 2, b"k", 5, doc("a"))])  # an older ts never lowers it
    assert store.max_ts() == 50


# -- failures --------------------------------------------------------------------------


def _assert_untouched(store: Persistence) -> None:
    assert scan(store, 10**18) == [(b"k", b"a@10")]
    assert [r.ts for r in store.load_revisions(0, 10**18)] == [10]
    assert store.get_revision(doc("new"), 10**18) is None
    assert store.get_global("g") == "before"
    assert store.max_ts() == 10


@pytest.mark.parametrize(
    "entries",
    [
        [IndexEntry(INDEX, b"n", 20, doc("new")), IndexEntry(INDEX, b"n", 20, doc("new"))],
        [IndexEntry(INDEX, b"n", 20, doc("new")), IndexEntry(INDEX, b"k", 10, None)],
        [IndexEntry(INDEX, b"n", 20, doc("new")), IndexEntry(INDEX, b"n", 20, None)],
    ],
    ids=["duplicate-in-batch", "duplicate-of-stored", "duplicate-key-removed-in-batch"],
)
def test_a_failed_write_stores_nothing(store: Persistence, entries: list[IndexEntry]) -> None:
    store.write(
        [DocumentRevision(doc("a"), 10, b"a@10", None)],
        [IndexEntry(INDEX, b"k", 10, doc("a"))],
        [("g", "before")],
    )
    # The bad entry comes last, after the revision and a good entry.
    with pytest.raises(ValueError):
        store.write([DocumentRevision(doc("new"), 20, b"new", None)], entries, [("g", "after")])
    _assert_untouched(store)
    with pytest.raises(ValueError):
        store.write([DocumentRevision(doc("a"), 10, b"again", None)], [])
    _assert_untouched(store)
    put(store, 20, "new", b"n")  # the store is still writable
    assert scan(store, 20) == [(b"k", b"a@10"), (b"n", b"new@20")]


def test_an_entry_without_its_revision_is_an_error(store: Persistence) -> None:
    store.write([], [IndexEntry(INDEX, b"k", 10, doc("ghost"))])
    with pytest.raises(RuntimeError, match="missing revision"):
        scan(store, 10)


def test_a_closed_store_refuses_calls(store: Persistence) -> None:
    put(store, 10, "a", b"k")
    store.close()
    store.close()  # closing twice is harmless
    calls: list[Callable[[], object]] = [
        lambda: store.write([], [], [("g", "v")]),
        lambda: store.index_scan(INDEX, b"", None, 10),
        lambda: store.get_revision(doc("a"), 10),
        lambda: store.load_revisions(0, 10),
        store.max_ts,
        lambda: store.get_global("g"),
    ]
    for call in calls:
        with pytest.raises(RuntimeError, match="closed"):
            call()


# -- threads ---------------------------------------------------------------------------


def test_concurrent_writers_and_readers_keep_the_invariants(store: Persistence) -> None:
    """Writers add documents under fresh keys in two indexes, atomically; readers
    check that what they see is complete and only grows."""
    writers, writes_each = 4, 60
    failures: list[BaseException] = []
    done = threading.Event()

    def write(worker: int) -> None:
        for i in range(writes_each):
            ts = 1 + i * writers + worker  # distinct timestamps, interleaved across writers
            key = ts.to_bytes(4, "big")
            store.write(
                [DocumentRevision(key, ts, b"v" + key, None)],
                [IndexEntry(1, key, ts, key), IndexEntry(2, key[::-1], ts, key)],
            )

    def read() -> None:
        previous: set[bytes] = set()
        while not done.is_set():
            first = {key for key, _ in store.index_scan(1, b"", None, 10**9)}
            second = {key[::-1] for key, _ in store.index_scan(2, b"", None, 10**9)}
            assert first >= previous
            assert second >= first  # index 2 was written with index 1, and is read after it
            for key, revision in store.index_scan(1, b"", None, 10**9, reverse=True):
                assert revision.value == b"v" + key
                assert store.get_revision(key, 10**9) == revision
            previous = first

    def guarded(target: Callable[..., None], *args: int) -> Callable[[], None]:
        def run() -> None:
            try:
                target(*args)
            except BaseException as error:
                failures.append(error)

        return run

    readers = [threading.Thread(target=guarded(read)) for _ in range(3)]
    writer_threads = [threading.Thread(target=guarded(write, w)) for w in range(writers)]
    for thread in readers + writer_threads:
        thread.start()
    for thread in writer_threads:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert failures == []
    assert len(scan(store, 10**9, index_id=1)) == writers * writes_each
    assert len(scan(store, 10**9, index_id=2)) == writers * writes_each
    assert store.max_ts() == writers * writes_each


def test_a_scan_may_continue_in_another_thread(big: Persistence) -> None:
    rows = big.index_scan(INDEX, b"", None, 1)
    head = [next(rows) for _ in range(100)]
    tail: list[tuple[bytes, DocumentRevision]] = []
    thread = threading.Thread(target=lambda: tail.extend(rows))
    thread.start()
    thread.join()
    assert len(head) + len(tail) == 10_000
    assert [k for k, _ in head + tail] == sorted(k for k, _ in head + tail)


# -- reopening -------------------------------------------------------------------------


@pytest.mark.parametrize("backend", DURABLE)
def test_reopening_keeps_everything(backend: Backend, tmp_path: Path) -> None:
    first = backend.open(tmp_path)
    put(first, 10, "a", b"k")
    first.write([DocumentRevision(doc("a"), 20, None, 10)], [IndexEntry(INDEX, b"k", 20, None)])
    first.write([], [IndexEntry(INDEX + 1, b"x", 25, doc("a"))], [("catalog", "{}")])
    first.close()
    second = backend.open(tmp_path)
    try:
        assert second.max_ts() == 25
        assert scan(second, 15) == [(b"k", b"a@10")]
        assert scan(second, 20) == []
        assert second.get_revision(doc("a"), 30) == DocumentRevision(doc("a"), 20, None, 10)
        assert [r.ts for r in second.load_revisions(0, 30)] == [10, 20]
        assert second.get_global("catalog") == "{}"
        put(second, 30, "b", b"k")
        assert scan(second, 30) == [(b"k", b"b@30")]
    finally:
        second.close()


# -- model-based -----------------------------------------------------------------------

_small_keys = st.binary(max_size=2).map(lambda b: bytes(x % 4 * 85 for x in b))

# A history: per ts (1, 2, ...), a mapping of (index_id, key) -> document number
# or None (tombstone).
_histories = st.lists(
    st.dictionaries(
        st.tuples(st.integers(1, 2), _small_keys),
        st.none() | st.integers(0, 3),
        max_size=6,
    ),
    min_size=1,
    max_size=8,
)
_queries = st.lists(
    st.tuples(
        st.integers(1, 2),
        _small_keys,
        st.none() | _small_keys,
        st.integers(0, 9),
        st.booleans(),
    ),
    min_size=1,
    max_size=10,
)


def _model_scan(
    entries: list[IndexEntry], index_id: int, start: bytes, end: bytes | None, read_ts: int
) -> list[tuple[bytes, bytes, int]]:
    newest: dict[bytes, IndexEntry] = {}
    for entry in entries:
        in_range = start <= entry.key and (end is None or entry.key < end)
        if entry.index_id == index_id and in_range and entry.ts <= read_ts:
            if entry.key not in newest or newest[entry.key].ts < entry.ts:
                newest[entry.key] = entry
    return sorted(
        (key, entry.doc_id, entry.ts) for key, entry in newest.items() if entry.doc_id is not None
    )


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=_histories, queries=_queries)
def test_index_scan_matches_a_model(
    backend: Backend,
    history: list[dict[tuple[int, bytes], int | None]],
    queries: list[tuple[int, bytes, bytes | None, int, bool]],
) -> None:
    model: list[IndexEntry] = []
    with tempfile.TemporaryDirectory() as directory:
        store = backend.open(Path(directory))
        try:
            for ts, writes in enumerate(history, start=1):
                entries = [
                    IndexEntry(index_id, key, ts, None if d is None else bytes([d]))
                    for (index_id, key), d in writes.items()
                ]
                doc_ids = {e.doc_id for e in entries if e.doc_id is not None}
                revisions = [DocumentRevision(d, ts, d + bytes([ts]), None) for d in doc_ids]
                store.write(revisions, entries)
                model.extend(entries)
            for index_id, start, end, read_ts, reverse in queries:
                expected = _model_scan(model, index_id, start, end, read_ts)
                if reverse:
                    expected.reverse()
                actual = [
                    (key, revision.doc_id, revision.ts)
                    for key, revision in store.index_scan(
                        index_id, start, end, read_ts, reverse=reverse
                    )
                ]
                assert actual == expected
                assert all(
                    revision.value == revision.doc_id + bytes([revision.ts])
                    for _, revision in store.index_scan(index_id, start, end, read_ts)
                )
        finally:
            store.close()
