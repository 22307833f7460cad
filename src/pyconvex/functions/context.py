"""The ``ctx`` objects handed to queries, mutations and actions.

=============  ===================================================================
``QueryCtx``     ``db`` (read-only), ``auth``, ``run_query``
``MutationCtx``  ``db`` (read-write), ``auth``, ``run_query``, ``run_mutation``, ``scheduler``
``ActionCtx``    ``auth``, ``run_query``, ``run_mutation``, ``run_action``, ``scheduler``
=============  ===================================================================

``ctx.scheduler`` (``run_after``, ``run_at``, ``cancel``) is described in
:mod:`pyconvex.functions.scheduler`.

Database calls run eagerly, as JavaScript's promises do. An async handler
``await``s them (and may ``asyncio.gather`` several); a sync handler gets
plain values from the very same methods. Table-first forms
(``db.get("messages", id)``) are accepted as in Convex 1.31+.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from pyconvex.database.query import Immediate, QueryInitializer, deliver
from pyconvex.database.transaction import Transaction
from pyconvex.errors import DocumentError, InvalidIdError
from pyconvex.values.ids import decode_id

__all__ = [
    "ActionCtx",
    "Auth",
    "DatabaseReader",
    "DatabaseWriter",
    "InvalidIdentity",
    "MutationCtx",
    "QueryCtx",
    "UserIdentity",
]

_monotonic = time.monotonic


class UserIdentity(Mapping[str, Any]):
    """The signed-in user's identity: the token's claims in camelCase.

    Read claims as items (``identity["email"]``) or as snake_case attributes
    (``identity.token_identifier``, ``identity.subject``, ``identity.issuer``).
    """

    def __init__(self, claims: Mapping[str, Any]) -> None:
        claims = dict(claims)
        if "tokenIdentifier" not in claims and "issuer" in claims and "subject" in claims:
            claims["tokenIdentifier"] = f"{claims['issuer']}|{claims['subject']}"
        self._claims = claims

    def __getitem__(self, key: str) -> Any:
        return self._claims[key]

    def __iter__(self) -> Any:
        return iter(self._claims)

    def __len__(self) -> int:
        return len(self._claims)

    def __getattr__(self, name: str) -> Any:
        camel = _camel(name)
        try:
            return self._claims[camel]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"UserIdentity({self._claims!r})"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class InvalidIdentity(UserIdentity):
    """A caller whose token did not verify, for HTTP actions.

    An HTTP action runs even when its ``Authorization`` header is bad (as in
    Convex); asking who is calling raises ``error``, in it and in the functions
    it calls.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__({})
        self.error = error


class Auth:
    """``ctx.auth``: who is calling."""

    def __init__(self, identity: UserIdentity | None, sync: bool) -> None:
        self._identity = identity
        self._sync = sync

    def get_user_identity(self) -> Any:
        """The caller's :class:`UserIdentity`, or None when signed out (awaitable)."""
        if isinstance(self._identity, InvalidIdentity):
            raise self._identity.error
        return deliver(self._identity, self._sync)


class Budget(Protocol):
    """Tracks the user-code time of an execution (database time excluded)."""

    def enter_database(self) -> None: ...

    def leave_database(self) -> None: ...


class DatabaseReader:
    """``ctx.db`` in a query: ``get``, ``query``, ``normalize_id`` and ``system``."""

    def __init__(
        self, transaction: Transaction, budget: Budget, *, sync: bool, system: bool = False
    ) -> None:
        self._transaction = transaction
        self._budget = budget
        self._sync = sync
        self._is_system = system

    def _timed(self, operation: Callable[[], Any]) -> Any:
        self._budget.enter_database()
        try:
            return operation()
        finally:
            self._budget.leave_database()

    def get(self, table_or_id: str, document_id: str | None = None) -> Any:
        """The document with this ID, or None (``get(id)`` or ``get(table, id)``)."""
        if document_id is None:
            table, document_id = None, table_or_id
        else:
            table = table_or_id
        if not isinstance(document_id, str):
            raise DocumentError(
                f"Invalid argument `id` for `db.get`: {document_id!r} is not a document ID"
            )
        self._check_table(table, document_id)
        budget = self._budget
        budget.enter_database()
        try:
            result = self._transaction.get(document_id, system=self._is_system)
        finally:
            budget.leave_database()
        return result if self._sync else Immediate(result)

    def query(self, table: str) -> QueryInitializer:
        """Start a query on ``table``."""
        if table.startswith("_") and not self._is_system:
            raise DocumentError(
                f"System tables can only be queried from db.system.query(): {table!r}"
            )
        if self._is_system and not table.startswith("_"):
            raise DocumentError(f"User tables can only be queried from db.query(): {table!r}")
        return QueryInitializer(self._transaction, table, sync=self._sync)

    def normalize_id(self, table: str, document_id: str) -> str | None:
        """``document_id`` if it is a valid ID of ``table``, else None."""
        if not isinstance(document_id, str):
            return None
        try:
            number, _ = decode_id(document_id)
        except InvalidIdError:
            return None
        found = self._transaction.table(table)
        if found is None or found.number != number:
            return None
        if table.startswith("_") != self._is_system:
            raise DocumentError(
                "User tables can only be accessed from db.normalize_id() and system tables "
                "from db.system.normalize_id()."
            )
        return document_id

    @property
    def system(self) -> DatabaseReader:
        """Read-only access to the system tables (``_storage``, ``_scheduled_functions``)."""
        return DatabaseReader(self._transaction, self._budget, sync=self._sync, system=True)

    def _check_table(self, table: str | None, document_id: str) -> None:
        if table is None:
            return
        actual = self._transaction.table_name_for_id(document_id)
        if actual is not None and actual != table:
            raise DocumentError(
                f"Invalid argument `id`, expected ID in table '{table}' but got ID in table "
                f"'{actual}'"
            )


class DatabaseWriter(DatabaseReader):
    """``ctx.db`` in a mutation: reads plus ``insert``, ``patch``, ``replace``, ``delete``.

    ``patch`` merges shallowly; a field set to :data:`pyconvex.UNDEFINED` is
    removed, a field set to None becomes null.
    """

    def insert(self, table: str, value: dict[str, Any]) -> Any:
        """Insert a document and return its ``_id``."""
        budget = self._budget
        budget.enter_database()
        try:
            result = self._transaction.insert(table, value)
        finally:
            budget.leave_database()
        return result if self._sync else Immediate(result)

    def patch(self, *args: Any) -> Any:
        """``patch(id, fields)`` or ``patch(table, id, fields)``: merge fields into a document."""
        document_id, value = self._id_and_value("patch", args)
        self._timed(lambda: self._transaction.patch(document_id, value))
        return deliver(None, self._sync)

    def replace(self, *args: Any) -> Any:
        """``replace(id, fields)`` or ``replace(table, id, fields)``: replace a document."""
        document_id, value = self._id_and_value("replace", args)
        self._timed(lambda: self._transaction.replace(document_id, value))
        return deliver(None, self._sync)

    def delete(self, table_or_id: str, document_id: str | None = None) -> Any:
        """``delete(id)`` or ``delete(table, id)``: delete a document."""
        if document_id is None:
            document_id = table_or_id
        else:
            self._check_table(table_or_id, document_id)
        target = _checked_id("delete", document_id)
        self._timed(lambda: self._transaction.delete(target))
        return deliver(None, self._sync)

    def _id_and_value(self, method: str, args: tuple[Any, ...]) -> tuple[str, Any]:
        if len(args) == 3:
            table, document_id, value = args
            self._check_table(table, _checked_id(method, document_id))
        elif len(args) == 2:
            document_id, value = args
        else:
            raise TypeError(f"db.{method}() takes (id, value) or (table, id, value)")
        return _checked_id(method, document_id), value


def _checked_id(method: str, document_id: Any) -> str:
    if not isinstance(document_id, str):
        raise DocumentError(
            f"Invalid argument `id` for `db.{method}`: {document_id!r} is not a document ID"
        )
    return document_id


Caller = Callable[[Any, Any], Awaitable[Any]]


class _Ctx:
    #: ``ctx.storage``: file storage (set by the executor when the deployment has a file store).
    storage: Any = None

    def __init__(self, auth: Auth, run_query: Caller) -> None:
        self.auth = auth
        self._run_query = run_query

    def run_query(self, reference: Any, args: dict[str, Any] | None = None) -> Awaitable[Any]:
        """Run a query (a reference like ``api.tasks.get`` or a path) and return its result."""
        return self._run_query(reference, args or {})


class QueryCtx(_Ctx):
    """The context of a query."""

    def __init__(self, db: DatabaseReader, auth: Auth, run_query: Caller) -> None:
        super().__init__(auth, run_query)
        self.db = db


class MutationCtx(_Ctx):
    """The context of a mutation."""

    #: ``ctx.scheduler``: jobs written in this mutation's transaction (set by the executor).
    scheduler: Any = None

    def __init__(
        self, db: DatabaseWriter, auth: Auth, run_query: Caller, run_mutation: Caller
    ) -> None:
        super().__init__(auth, run_query)
        self.db = db
        self._run_mutation = run_mutation

    def run_mutation(self, reference: Any, args: dict[str, Any] | None = None) -> Awaitable[Any]:
        """Run a mutation as a sub-transaction: its writes roll back alone if it raises."""
        return self._run_mutation(reference, args or {})


class ActionCtx(_Ctx):
    """The context of an action: no ``db``; each call is its own transaction."""

    #: ``ctx.scheduler``: each call commits at once (set by the executor).
    scheduler: Any = None

    def __init__(
        self, auth: Auth, run_query: Caller, run_mutation: Caller, run_action: Caller
    ) -> None:
        super().__init__(auth, run_query)
        self._run_mutation = run_mutation
        self._run_action = run_action

    def run_mutation(self, reference: Any, args: dict[str, Any] | None = None) -> Awaitable[Any]:
        """Run a mutation in its own transaction and return its result."""
        return self._run_mutation(reference, args or {})

    def run_action(self, reference: Any, args: dict[str, Any] | None = None) -> Awaitable[Any]:
        """Run another action and return its result."""
        return self._run_action(reference, args or {})
