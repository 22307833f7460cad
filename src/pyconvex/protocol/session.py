"""The server side of one sync connection, as a state machine without I/O.

The WebSocket shell feeds every parsed client message to :meth:`SyncSession.receive`
and executes the effects it returns (run a mutation, run an action, verify a
token, update). Updates are two-step: :meth:`SyncSession.plan_update` says which
queries to run, the shell runs them all at one snapshot ``ts``, and
:meth:`SyncSession.finish_update` turns the results into the next Transition
(protocol.md 3.12).

Fan-out is cheap by construction: a :class:`QueryOutcome` serialises its
result once when it is made (and the query-result cache shares one outcome
among every subscriber), so building a connection's Transition only splices
pre-encoded fragments around its own query ids and versions.

Invariants (checked by :meth:`check_invariants`):

* ``sent`` is the version the client holds: every Transition starts there and
  moves it to its end version; ``sent.ts`` never decreases;
* ``sent.query_set <= received_query_set`` and ``sent.identity <= received_identity``;
* a query is reported only with results computed at the Transition's end ts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pyconvex.protocol.messages import (
    Action,
    Authenticate,
    ClientMessage,
    Connect,
    Event,
    ModifyQuerySet,
    Mutation,
    ProtocolError,
    QueryAdd,
    Version,
)

__all__ = [
    "QueryOutcome",
    "QueryState",
    "Transition",
    "RunAction",
    "RunMutation",
    "SyncSession",
    "UpdateNeeded",
    "VerifyAuth",
]


@dataclass(frozen=True, slots=True)
class RunMutation:
    """Effect: run a mutation (serially with this connection's other mutations)."""

    request_id: int
    udf_path: str
    args: Any


@dataclass(frozen=True, slots=True)
class RunAction:
    """Effect: run an action (concurrently)."""

    request_id: int
    udf_path: str
    args: Any


@dataclass(frozen=True, slots=True)
class VerifyAuth:
    """Effect: check a token, then call ``set_identity`` or send an AuthError."""

    base_version: int
    token_type: str
    value: str | None
    acting_as: Any = None


@dataclass(frozen=True, slots=True)
class UpdateNeeded:
    """Effect: schedule an update (plan, run queries, finish, send)."""


Effect = RunMutation | RunAction | VerifyAuth | UpdateNeeded


@dataclass(slots=True)
class QueryState:
    """One subscribed query.

    Attributes:
        dirty: it must run at the next update (new, invalidated, or identity changed).
        read_set: what its last run read (any object with ``contains(index_id, key)``).
        result_hash: the hash of the last result sent, to skip unchanged results.
    """

    query_id: int
    udf_path: str
    args: Any
    journal: str | None
    dirty: bool = True
    read_set: Any = None
    result_hash: bytes | None = None
    args_key: str = field(init=False, default="")

    def __post_init__(self) -> None:
        # The canonical argument text: part of the shared cache key, made once.
        self.args_key = _compact(self.args, sort_keys=True)


@dataclass(frozen=True, slots=True)
class QueryOutcome:
    """A query's result at a snapshot, in wire form.

    Attributes:
        value: the encoded value (success) — ignored when ``error_message`` is set.
        error_message: set for a failure.
        error_data: the encoded ``ConvexError`` data of a failure, if any.
    """

    value: Any = None
    log_lines: list[str] = field(default_factory=list)
    journal: str | None = None
    read_set: Any = None
    error_message: str | None = None
    error_data: Any = None
    has_error_data: bool = False
    #: The modification's JSON text after its ``queryId`` (serialised once).
    body: str = field(init=False, repr=False, compare=False, default="")
    #: A digest of ``body``: an unchanged result is not sent again.
    digest: bytes = field(init=False, repr=False, compare=False, default=b"")

    def __post_init__(self) -> None:
        body = _encode_body(self)
        object.__setattr__(self, "body", body)
        object.__setattr__(self, "digest", hashlib.blake2b(body.encode(), digest_size=16).digest())

    def modification(self, query_id: int) -> str:
        """The ``QueryUpdated`` / ``QueryFailed`` JSON text for ``query_id``."""
        kind = "QueryFailed" if self.error_message is not None else "QueryUpdated"
        return f'{{"type":"{kind}","queryId":{query_id}{self.body}'


@dataclass(slots=True)
class Transition:
    """One Transition message: moves the client from ``start`` to ``end``.

    ``modifications`` are JSON texts (see :meth:`QueryOutcome.modification`),
    so :meth:`encode` only joins them.
    """

    start: Version
    end: Version
    modifications: list[str]
    server_ts: int | None = None

    def encode(self) -> str:
        """The message as sent on the socket."""
        server_ts = "null" if self.server_ts is None else str(self.server_ts)
        return (
            '{"type":"Transition","startVersion":'
            + self.start.to_json_text()
            + ',"endVersion":'
            + self.end.to_json_text()
            + ',"modifications":['
            + ",".join(self.modifications)
            + '],"clientClockSkew":null,"serverTs":'
            + server_ts
            + "}"
        )

    def to_json(self) -> dict[str, Any]:
        """The message as a JSON object (what :meth:`encode` serialises)."""
        decoded: dict[str, Any] = json.loads(self.encode())
        return decoded


class SyncSession:
    """The protocol state of one WebSocket connection."""

    def __init__(self) -> None:
        self.session_id: str | None = None
        self.received_query_set = 0
        self.received_identity = 0
        self.sent = Version()
        self.queries: dict[int, QueryState] = {}
        self.identity: Any = None
        self._removed: list[int] = []
        self._must_reach_ts = 0
        self._force_transition = False

    # -- inbound ------------------------------------------------------------

    def receive(self, message: ClientMessage) -> list[Effect]:
        """Apply one client message; return what the shell must do.

        Raises:
            ProtocolError: the message breaks the protocol (send FatalError).
        """
        if isinstance(message, Connect):
            self.session_id = message.session_id
            return []
        if isinstance(message, ModifyQuerySet):
            return self._modify(message)
        if isinstance(message, Mutation):
            return [RunMutation(message.request_id, message.udf_path, message.args)]
        if isinstance(message, Action):
            return [RunAction(message.request_id, message.udf_path, message.args)]
        if isinstance(message, Authenticate):
            if message.base_version != self.received_identity:
                raise ProtocolError(
                    f"BaseVersionMismatch: Authenticate base version {message.base_version} "
                    f"!= {self.received_identity}"
                )
            return [
                VerifyAuth(
                    message.base_version, message.token_type, message.value, message.acting_as
                )
            ]
        if isinstance(message, Event):
            return []
        raise ProtocolError(f"Unexpected message {message!r}")

    def _modify(self, message: ModifyQuerySet) -> list[Effect]:
        if message.base_version != self.received_query_set:
            raise ProtocolError(
                f"BaseVersionMismatch: ModifyQuerySet base version {message.base_version} "
                f"!= {self.received_query_set}"
            )
        if message.new_version <= message.base_version:
            raise ProtocolError("ModifyQuerySet newVersion must be greater than baseVersion")
        self.received_query_set = message.new_version
        for change in message.modifications:
            if isinstance(change, QueryAdd):
                self.queries[change.query_id] = QueryState(
                    change.query_id, change.udf_path, change.args, change.journal
                )
                if change.query_id in self._removed:
                    self._removed.remove(change.query_id)
            else:
                if self.queries.pop(change.query_id, None) is not None:
                    self._removed.append(change.query_id)
        self._force_transition = True  # the client waits for its new query-set version
        return [UpdateNeeded()]

    def set_identity(self, identity: Any) -> list[Effect]:
        """A verified Authenticate: new identity, every query re-runs."""
        self.identity = identity
        self.received_identity += 1
        for query in self.queries.values():
            query.dirty = True
            query.result_hash = None
        self._force_transition = True
        return [UpdateNeeded()]

    def mutation_done(self, commit_ts: int | None) -> list[Effect]:
        """A mutation finished (``commit_ts`` None if it failed): a Transition must follow."""
        if commit_ts is not None:
            self._must_reach_ts = max(self._must_reach_ts, commit_ts)
        self._force_transition = True
        return [UpdateNeeded()]

    def mark_dirty(self, query_id: int) -> None:
        """Re-run ``query_id`` at the next update (a commit raced with its last run)."""
        query = self.queries.get(query_id)
        if query is not None:
            query.dirty = True

    # -- updates ------------------------------------------------------------

    def needs_update(self, latest_ts: int) -> bool:
        """Whether an update would send something."""
        return (
            self._force_transition
            or bool(self._removed)
            or any(q.dirty for q in self.queries.values())
            or self._must_reach_ts > self.sent.ts
        )

    def plan_update(self) -> list[QueryState]:
        """The queries to run at the next snapshot (they stop being dirty now)."""
        planned = [query for query in self.queries.values() if query.dirty]
        for query in planned:
            query.dirty = False
        return planned

    def finish_update(self, ts: int, outcomes: dict[int, QueryOutcome]) -> Transition | None:
        """Build the Transition to ``ts`` from the planned queries' outcomes.

        Returns None when there is nothing to tell the client.
        """
        ts = max(ts, self.sent.ts)
        modifications = [
            f'{{"type":"QueryRemoved","queryId":{query_id}}}' for query_id in self._removed
        ]
        self._removed = []
        for query_id, outcome in sorted(outcomes.items()):
            query = self.queries.get(query_id)
            if query is None:
                continue  # removed while it ran
            query.read_set = outcome.read_set
            query.journal = outcome.journal
            if outcome.digest == query.result_hash:
                continue
            query.result_hash = outcome.digest
            modifications.append(outcome.modification(query_id))
        end = Version(self.received_query_set, self.received_identity, ts)
        same_view = (end.query_set, end.identity) == (self.sent.query_set, self.sent.identity)
        if (
            not modifications
            and same_view
            and not self._force_transition
            and self._must_reach_ts <= self.sent.ts
        ):
            # Nothing the client would notice: its results are as valid at the
            # new ts as at the one it holds, so save the message.
            return None
        self._force_transition = False
        transition = Transition(self.sent, end, modifications)
        self.sent = end
        return transition

    def check_invariants(self) -> None:
        """Assert the class invariants (used by tests)."""
        assert self.sent.query_set <= self.received_query_set
        assert self.sent.identity <= self.received_identity
        assert not set(self._removed) & set(self.queries)


def _encode_body(outcome: QueryOutcome) -> str:
    if outcome.error_message is not None:
        body = (
            f',"errorMessage":{_compact(outcome.error_message)}'
            f',"logLines":{_compact(outcome.log_lines)}'
            f',"journal":{_compact(outcome.journal)}'
        )
        if outcome.has_error_data:
            body += f',"errorData":{_compact(outcome.error_data)}'
        return body + "}"
    return (
        f',"value":{_compact(outcome.value)}'
        f',"logLines":{_compact(outcome.log_lines)}'
        f',"journal":{_compact(outcome.journal)}}}'
    )


def _compact(value: Any, *, sort_keys: bool = False) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, sort_keys=sort_keys)
