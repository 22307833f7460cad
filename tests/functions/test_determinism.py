"""The determinism guard (functions/determinism.py)."""

from __future__ import annotations

import datetime
import os
import random
import secrets
import socket
import threading
import time
import uuid

import pytest

from pyconvex.errors import NondeterminismError
from pyconvex.functions import determinism

determinism.install()
FROZEN_NS = 1_700_000_000_123_000_000


def test_time_is_frozen_inside_and_real_outside() -> None:
    with determinism.deterministic(FROZEN_NS, seed=1):
        assert time.time() == FROZEN_NS / 1e9
        assert time.time_ns() == FROZEN_NS
        now = datetime.datetime.now(datetime.UTC)
        assert now.timestamp() == pytest.approx(FROZEN_NS / 1e9)
        assert datetime.date.today() == datetime.date.fromtimestamp(FROZEN_NS / 1e9)
        assert determinism.is_deterministic()
    assert abs(time.time() - FROZEN_NS / 1e9) > 1000
    assert not determinism.is_deterministic()


def test_randomness_is_seeded_per_execution() -> None:
    def sample() -> tuple[float, int, bytes, str, str]:
        return (
            random.random(),
            random.randint(0, 10**9),
            os.urandom(8),
            secrets.token_hex(4),
            str(uuid.uuid4()),
        )

    with determinism.deterministic(FROZEN_NS, seed=7):
        first = sample()
    with determinism.deterministic(FROZEN_NS, seed=7):
        second = sample()
    with determinism.deterministic(FROZEN_NS, seed=8):
        third = sample()
    assert first == second and first != third
    assert os.urandom(8) != os.urandom(8)  # real randomness outside


def test_network_is_refused_inside() -> None:
    with determinism.deterministic(FROZEN_NS, seed=1):
        with pytest.raises(NondeterminismError, match="Can't use fetch"):
            socket.getaddrinfo("localhost", 80)
        with socket.socket() as sock, pytest.raises(NondeterminismError):
            sock.connect(("127.0.0.1", 9))


def test_the_guard_is_scoped_to_the_running_context() -> None:
    seen: list[float] = []

    def other_thread() -> None:
        seen.append(time.time())

    with determinism.deterministic(FROZEN_NS, seed=1):
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert seen[0] != FROZEN_NS / 1e9


def test_patched_datetime_still_recognises_real_datetimes() -> None:
    real = datetime.datetime.fromisoformat("2020-01-01T00:00:00")
    assert isinstance(real, datetime.datetime) and isinstance(real, datetime.date)
    assert isinstance(datetime.datetime.now(), datetime.datetime)
