"""Tests for pyconvex.entropy: buffered real randomness."""

from __future__ import annotations

import os
import threading

import pytest

from pyconvex.entropy import token_bytes
from pyconvex.functions import determinism


def test_returns_the_requested_number_of_bytes() -> None:
    assert [len(token_bytes(n)) for n in (0, 1, 16, 1000, 5000)] == [0, 1, 16, 1000, 5000]


def test_never_repeats_across_many_calls_and_refills() -> None:
    seen = {token_bytes(16) for _ in range(10_000)}  # about 40 buffer refills
    assert len(seen) == 10_000


def test_threads_draw_different_bytes() -> None:
    results: list[bytes] = []

    def draw() -> None:
        results.extend(token_bytes(16) for _ in range(500))

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 2000


def test_stays_random_inside_a_deterministic_execution() -> None:
    # Document ids drawn inside a mutation must differ between its retries.
    determinism.install()
    with determinism.deterministic(now_ns=0, seed=1):
        first = token_bytes(16)
    with determinism.deterministic(now_ns=0, seed=1):
        second = token_bytes(16)
    assert first != second


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parents_bytes() -> None:
    token_bytes(16)  # the parent's buffer is filled
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.write(write, token_bytes(16))
        os._exit(0)
    os.close(write)
    child = os.read(read, 16)
    os.close(read)
    os.waitpid(pid, 0)
    parent = token_bytes(16)
    assert len(child) == 16
    assert child != parent


def test_negative_size_is_refused() -> None:
    with pytest.raises(ValueError):
        token_bytes(-1)
