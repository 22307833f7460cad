"""Live queries grouped by shared read set (server/subscriptions.py)."""

from __future__ import annotations

from pyconvex.server.subscriptions import Subscriptions


def test_subscriptions_check_each_shared_read_set_once() -> None:
    class Reads:
        checks = 0

        def __init__(self, *keys: bytes) -> None:
            self.keys = set(keys)

        def contains(self, index_id: int, key: bytes) -> bool:
            Reads.checks += 1
            return key in self.keys

    subscriptions: Subscriptions[object] = Subscriptions()
    a, b, c = object(), object(), object()  # connections, as far as the registry cares
    shared, other = Reads(b"x"), Reads(b"y")
    for connection in (a, b, c):
        subscriptions.register(connection, 0, shared)
    subscriptions.register(a, 1, other)
    assert len(subscriptions) == 4

    hit = subscriptions.invalidate([(1, b"x")])
    assert sorted(map(id, (s[0] for s in hit))) == sorted(map(id, (a, b, c)))
    assert Reads.checks == 2  # one per distinct read set, not per subscriber
    assert len(subscriptions) == 1 and subscriptions.invalidate([(1, b"x")]) == []

    subscriptions.register(b, 5, other)
    subscriptions.drop_connection(a)
    assert subscriptions.watched(a) == [] and subscriptions.watched(b) == [5]
    subscriptions.unregister(b, 5)
    assert len(subscriptions) == 0 and subscriptions.invalidate([(1, b"y")]) == []
