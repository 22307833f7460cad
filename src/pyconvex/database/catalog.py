"""The catalog: which tables and indexes exist, and their numbers.

A :class:`Catalog` is immutable; a change makes a new one. The committer
publishes each new catalog together with the commit that changed it (stored
as a global value in the same atomic write), and every transaction keeps the
catalog it began with, so table and index definitions are snapshot-consistent
like the data.

Table numbers below :data:`FIRST_USER_TABLE_NUMBER` are reserved for system
tables (as in Convex, so user IDs are 32 characters long). Every table has the
built-in indexes ``by_id`` (``[_id]``) and ``by_creation_time``
(``[_creationTime, _id]``); every user index ``[f1..fn]`` is really
``[f1..fn, _creationTime, _id]``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "BY_CREATION_TIME",
    "BY_ID",
    "FIRST_USER_TABLE_NUMBER",
    "SYSTEM_INDEXES",
    "SYSTEM_TABLES",
    "Catalog",
    "IndexInfo",
    "IndexState",
    "TableInfo",
    "builtin_indexes",
]

BY_ID = "by_id"
BY_CREATION_TIME = "by_creation_time"
FIRST_USER_TABLE_NUMBER = 10_001

#: System tables and their fixed numbers; readable through ``ctx.db.system``.
SYSTEM_TABLES: Mapping[str, int] = {
    "_scheduled_functions": 1,
    "_storage": 2,
    "_environment_variables": 3,
    "_session_requests": 4,
    "_upload_tokens": 5,
    "_cron_jobs": 6,
    # Which node runs a scheduled job or cron run, until when (pyconvex.functions.leases).
    "_job_leases": 7,
    # Built-in sign-in (pyconvex.signin); numbered apart from the others to leave room.
    "_auth_accounts": 20,
    "_auth_sessions": 21,
    "_auth_codes": 22,
    "_auth_oauth_states": 23,
}

#: Indexes of system tables beyond the built-in two.
SYSTEM_INDEXES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "_session_requests": {"by_session_request": ("sessionId", "requestId")},
    "_upload_tokens": {"by_nonce": ("nonce",)},
    "_auth_accounts": {
        "by_provider_account": ("provider", "providerAccountId"),
        "by_email": ("email",),
        "by_subject": ("subject",),
    },
    "_auth_sessions": {"by_subject": ("subject",)},
    "_auth_codes": {"by_account_kind": ("accountId", "kind")},
    "_auth_oauth_states": {"by_state": ("state",)},
    # The scheduler takes due jobs in time order; completed ones are pruned by age.
    "_scheduled_functions": {
        "by_state_scheduled_time": ("state.kind", "scheduledTime"),
        "by_completed_time": ("completedTime",),
    },
    "_cron_jobs": {"by_name": ("name",)},
    "_job_leases": {"by_target": ("target",)},
}


class IndexState(enum.Enum):
    """Whether an index is still being filled with existing documents."""

    BACKFILLING = "backfilling"
    ENABLED = "enabled"


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """One index of one table.

    Attributes:
        index_id: the number under which storage keeps its entries.
        name: the index name, unique within the table.
        fields: the declared fields (empty for the built-in indexes).
        key_fields: every field of the key, in order, with the implicit tie-breaks.
        state: backfilling indexes are written but cannot be queried yet.
    """

    index_id: int
    name: str
    fields: tuple[str, ...]
    key_fields: tuple[str, ...]
    state: IndexState = IndexState.ENABLED


@dataclass(frozen=True, slots=True)
class TableInfo:
    """One table: its number and its indexes by name."""

    name: str
    number: int
    indexes: Mapping[str, IndexInfo] = field(default_factory=dict)

    @property
    def by_id(self) -> IndexInfo:
        """The built-in ``by_id`` index."""
        return self.indexes[BY_ID]


def builtin_indexes(first_id: int) -> dict[str, IndexInfo]:
    """The ``by_id`` and ``by_creation_time`` indexes of a table, with ids from ``first_id``."""
    return {
        BY_ID: IndexInfo(first_id, BY_ID, (), ("_id",)),
        BY_CREATION_TIME: IndexInfo(first_id + 1, BY_CREATION_TIME, (), ("_creationTime", "_id")),
    }


@dataclass(frozen=True, slots=True)
class Catalog:
    """An immutable snapshot of every table and index."""

    tables: Mapping[str, TableInfo]
    next_table_number: int = FIRST_USER_TABLE_NUMBER
    next_index_id: int = 1
    _by_number: Mapping[int, TableInfo] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_number = {table.number: table for table in self.tables.values()}
        object.__setattr__(self, "_by_number", by_number)

    @classmethod
    def bootstrap(cls) -> Catalog:
        """The catalog of an empty deployment: only the system tables."""
        catalog = cls(tables={})
        for name, number in SYSTEM_TABLES.items():
            catalog = catalog._with_table_number(name, number)
        return catalog

    def with_system_tables(self) -> Catalog:
        """Return a catalog with every system table and index (older versions lack some).

        A system index missing from an existing table is added as backfilling:
        the database fills it from the table's documents before it is queried.
        """
        catalog = self
        for name, number in SYSTEM_TABLES.items():
            if catalog.table(name) is None:
                catalog = catalog._with_table_number(name, number)
                continue
            for index_name, fields in SYSTEM_INDEXES.get(name, {}).items():
                if index_name not in catalog.tables[name].indexes:
                    catalog = catalog.with_index(
                        name, index_name, fields, IndexState.BACKFILLING, catalog.next_index_id
                    )
        return catalog

    def table(self, name: str) -> TableInfo | None:
        """The table called ``name``, if it exists."""
        return self.tables.get(name)

    def table_by_number(self, number: int) -> TableInfo | None:
        """The table with the given number, if it exists."""
        return self._by_number.get(number)

    def with_created_table(self, table: TableInfo) -> Catalog:
        """Return a catalog with a table a transaction created (numbers pre-allocated)."""
        top_index = max((i.index_id for i in table.indexes.values()), default=0)
        return replace(
            self,
            tables={**self.tables, table.name: table},
            next_table_number=max(self.next_table_number, table.number + 1),
            next_index_id=max(self.next_index_id, top_index + 1),
        )

    def _with_table_number(self, name: str, number: int) -> Catalog:
        indexes = builtin_indexes(self.next_index_id)
        next_index_id = self.next_index_id + 2
        for index_name, fields in SYSTEM_INDEXES.get(name, {}).items():
            key_fields = (*fields, "_creationTime", "_id")
            indexes[index_name] = IndexInfo(next_index_id, index_name, fields, key_fields)
            next_index_id += 1
        table = TableInfo(name, number, indexes)
        return replace(self, tables={**self.tables, name: table}, next_index_id=next_index_id)

    def with_index(
        self, table: str, name: str, fields: Sequence[str], state: IndexState, index_id: int
    ) -> Catalog:
        """Return a catalog with an index added to (or replaced in) ``table``."""
        info = self.tables[table]
        index = IndexInfo(index_id, name, tuple(fields), (*fields, "_creationTime", "_id"), state)
        indexes = {**info.indexes, name: index}
        tables = {**self.tables, table: replace(info, indexes=indexes)}
        return replace(self, tables=tables, next_index_id=max(self.next_index_id, index_id + 1))

    def with_index_state(self, table: str, name: str, state: IndexState) -> Catalog:
        """Return a catalog where one index has a new state."""
        info = self.tables[table]
        indexes = {**info.indexes, name: replace(info.indexes[name], state=state)}
        return replace(self, tables={**self.tables, table: replace(info, indexes=indexes)})

    def without_index(self, table: str, name: str) -> Catalog:
        """Return a catalog where ``table`` no longer has index ``name``."""
        info = self.tables[table]
        indexes = {k: v for k, v in info.indexes.items() if k != name}
        return replace(self, tables={**self.tables, table: replace(info, indexes=indexes)})

    def to_json(self) -> str:
        """Serialise for storage (a global value written with the commit)."""
        return json.dumps(
            {
                "nextTableNumber": self.next_table_number,
                "nextIndexId": self.next_index_id,
                "tables": [
                    {
                        "name": t.name,
                        "number": t.number,
                        "indexes": [
                            {
                                "id": i.index_id,
                                "name": i.name,
                                "fields": list(i.fields),
                                "keyFields": list(i.key_fields),
                                "state": i.state.value,
                            }
                            for i in t.indexes.values()
                        ],
                    }
                    for t in self.tables.values()
                ],
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        """Load a catalog saved with :meth:`to_json`."""
        data: dict[str, Any] = json.loads(text)
        tables = {}
        for t in data["tables"]:
            indexes = {
                i["name"]: IndexInfo(
                    i["id"],
                    i["name"],
                    tuple(i["fields"]),
                    tuple(i["keyFields"]),
                    IndexState(i["state"]),
                )
                for i in t["indexes"]
            }
            tables[t["name"]] = TableInfo(t["name"], t["number"], indexes)
        return cls(tables, data["nextTableNumber"], data["nextIndexId"])
