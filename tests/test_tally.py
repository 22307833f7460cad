"""Tally (tally.py): a count that loses nothing across threads."""

from __future__ import annotations

import threading

from pyconvex.tally import Tally


def test_counts_every_addition() -> None:
    tally = Tally()
    assert tally.value == 0
    tally.add()
    tally.add(4)
    assert tally.value == 5
    assert repr(tally) == "Tally(5)"


def test_concurrent_additions_from_many_threads_all_count() -> None:
    tally = Tally()

    def bump() -> None:
        for _ in range(10_000):
            tally.add()

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tally.value == 80_000
