"""Live queries of every sync connection, grouped by the read set they last ran with."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Generic, TypeVar

__all__ = ["Subscriptions"]

#: Whatever stands for a connection (the sync endpoint's connection objects).
C = TypeVar("C", bound=Hashable)


class Subscriptions(Generic[C]):
    """Live queries grouped by the read set they last ran with.

    Subscribers of one query share one cached outcome and therefore one read
    set object, so a commit is checked once per distinct read set, not once
    per subscriber: 1,000 clients of one query cost one check per commit.

    A group is dropped when a commit hits it; its queries re-register with
    their new read sets when they have run again.
    """

    def __init__(self) -> None:
        # id(read set) -> (read set, its subscribers)
        self._groups: dict[int, tuple[Any, set[tuple[C, int]]]] = {}
        # connection -> {query id: id(read set)}
        self._watched: dict[C, dict[int, int]] = {}

    def register(self, connection: C, query_id: int, read_set: Any) -> None:
        """Watch ``read_set`` for ``connection``'s query (replacing what it watched)."""
        self.unregister(connection, query_id)
        if read_set is None:
            return  # nothing to watch: it re-runs only when asked to
        key = id(read_set)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = (read_set, set())
        group[1].add((connection, query_id))
        self._watched.setdefault(connection, {})[query_id] = key

    def unregister(self, connection: C, query_id: int) -> None:
        """Stop watching for one query."""
        watched = self._watched.get(connection)
        key = watched.pop(query_id, None) if watched is not None else None
        if key is not None:
            _, members = self._groups[key]
            members.discard((connection, query_id))
            if not members:
                del self._groups[key]

    def watched(self, connection: C) -> list[int]:
        """The query ids of ``connection`` being watched."""
        return list(self._watched.get(connection, ()))

    def drop_connection(self, connection: C) -> None:
        """Stop watching for every query of a closed connection."""
        for query_id in self.watched(connection):
            self.unregister(connection, query_id)
        self._watched.pop(connection, None)

    def invalidate(self, touched: list[tuple[int, bytes]]) -> list[tuple[C, int]]:
        """The subscribers whose read set contains a touched key (they stop being watched)."""
        hit: list[tuple[C, int]] = []
        for key, (read_set, members) in list(self._groups.items()):
            if any(read_set.contains(index_id, k) for index_id, k in touched):
                del self._groups[key]
                for connection, query_id in members:
                    del self._watched[connection][query_id]
                hit.extend(members)
        return hit

    def __len__(self) -> int:
        return sum(len(watched) for watched in self._watched.values())
