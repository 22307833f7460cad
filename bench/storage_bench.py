"""The group-commit ceiling of SqlitePersistence: how many commits per second storage allows.

Each simulated commit is one document write: one revision and three index
entries (``by_id``, ``by_creation_time`` and one user index), all at the
commit's ts. A batch of N commits is one ``write()`` (one fsync), as the
committer does. Prints numbers only::

    .venv/bin/python bench/storage_bench.py [seconds_per_case]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from pyconvex.storage.base import DocumentRevision, IndexEntry
from pyconvex.storage.sqlite import SqlitePersistence

__all__ = ["main", "measure_fsync", "run_case", "run_scans"]

BATCH_SIZES = (1, 64, 256)
VALUE = b'{"_id":"j57a8kq2v9m3c1x0","_creationTime":1700000000000.0,"body":"hello","n":42}'


def run_case(path: Path, batch_size: int, seconds: float) -> tuple[float, float]:
    """Write batches for about ``seconds``; return ``(commits/s, rows/s)``."""
    with SqlitePersistence(path) as store:
        ts = store.max_ts()
        commits = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            revisions: list[DocumentRevision] = []
            entries: list[IndexEntry] = []
            for _ in range(batch_size):
                ts += 1
                doc_id = b"\x11" + ts.to_bytes(16, "big")
                revisions.append(DocumentRevision(doc_id, ts, VALUE, None))
                entries.append(IndexEntry(1, doc_id, ts, doc_id))
                entries.append(IndexEntry(2, ts.to_bytes(8, "big") + doc_id, ts, doc_id))
                entries.append(IndexEntry(3, b"\x05hello" + doc_id, ts, doc_id))
            store.write(revisions, entries)
            commits += batch_size
        elapsed = time.perf_counter() - started
    return commits / elapsed, commits * 4 / elapsed


def measure_fsync(directory: Path, seconds: float) -> float:
    """Return how many 8 KiB write + fsync pairs per second the disk does."""
    fd = os.open(directory / "fsync.probe", os.O_WRONLY | os.O_CREAT)
    try:
        count = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            os.write(fd, b"\0" * 8192)
            os.fsync(fd)
            count += 1
        return count / (time.perf_counter() - started)
    finally:
        os.close(fd)


def run_scans(path: Path) -> tuple[float, float]:
    """Return ``(rows/s of full scans, first pages of 10 rows per second)``.

    Uses the file :func:`run_case` left behind (index 3 holds every document).
    """
    with SqlitePersistence(path) as store:
        read_ts = store.max_ts()
        started = time.perf_counter()
        rows = sum(1 for _ in store.index_scan(3, b"", None, read_ts))
        full = rows / (time.perf_counter() - started)
        pages = 2000
        started = time.perf_counter()
        for _ in range(pages):
            scan = store.index_scan(3, b"", None, read_ts, reverse=True)
            for _, _ in zip(range(10), scan):
                pass
        return full, pages / (time.perf_counter() - started)


def main() -> None:
    """Run every batch size on a fresh file and print one line per case."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as directory:
        print(f"disk: {measure_fsync(Path(directory), 1.0):,.0f} fsync/s (8 KiB writes)")
    for batch_size in BATCH_SIZES:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as directory:
            path = Path(directory) / "bench.sqlite3"
            commits, rows = run_case(path, batch_size, seconds)
            print(
                f"batch={batch_size:<4} commits/s={commits:>10,.0f} rows/s={rows:>10,.0f} "
                f"(1 revision + 3 index entries per commit, synchronous=FULL)"
            )
            if batch_size == BATCH_SIZES[-1]:
                full, pages = run_scans(path)
                print(f"scan: {full:,.0f} rows/s full scan, {pages:,.0f} first-10 pages/s")


if __name__ == "__main__":
    main()
