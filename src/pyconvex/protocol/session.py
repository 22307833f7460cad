"""The server side of one sync connection, as a state machine without I/O.

The WebSocket shell feeds every parsed client message to :meth:`SyncSession.receive`
and executes the effects it returns (run a mutation, run an action, verify a
token, update). Updates are two-step: :meth:`SyncSession.plan_update` says which
queries to run, the shell runs them all at one snapshot ``ts``, and
:meth:`SyncSession.finish_update` turns the results into the next Transition
(protocol.md 3.12).

Invariants (checked by :meth:`check_invariants`):

* ``sent`` is the version the client holds: every Transition starts there and
  moves it to its end version; ``sent.ts`` never decreases;
* ``sent.query_set <= received_query_set`` and ``sent.identity <= received_identity``;
* a query is reported only with results computed at the Transition's end ts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
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

    def invalidate(self, touched: Iterable[tuple[int, bytes]]) -> bool:
        """Mark queries whose last read set contains a touched key; True if any."""
        keys = list(touched)
        hit = False
        for query in self.queries.values():
            if query.dirty or query.read_set is None:
                continue
            if any(query.read_set.contains(index_id, key) for index_id, key in keys):
                query.dirty = True
                hit = True
        return hit

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

    def finish_update(self, ts: int, outcomes: dict[int, QueryOutcome]) -> dict[str, Any] | None:
        """Build the Transition to ``ts`` from the planned queries' outcomes.

        Returns None when there is nothing to tell the client.
        """
        ts = max(ts, self.sent.ts)
        modifications: list[dict[str, Any]] = [
            {"type": "QueryRemoved", "queryId": query_id} for query_id in self._removed
        ]
        self._removed = []
        for query_id, outcome in sorted(outcomes.items()):
            query = self.queries.get(query_id)
            if query is None:
                continue  # removed while it ran
            query.read_set = outcome.read_set
            query.journal = outcome.journal
            modification = _modification(query_id, outcome)
            digest = _hash(modification)
            if digest == query.result_hash:
                continue
            query.result_hash = digest
            modifications.append(modification)
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
        transition = {
            "type": "Transition",
            "startVersion": self.sent.to_json(),
            "endVersion": end.to_json(),
            "modifications": modifications,
            "clientClockSkew": None,
            "serverTs": None,
        }
        self.sent = end
        return transition

    def check_invariants(self) -> None:
        """Assert the class invariants (used by tests)."""
        assert self.sent.query_set <= self.received_query_set
        assert self.sent.identity <= self.received_identity
        assert not set(self._removed) & set(self.queries)


def _modification(query_id: int, outcome: QueryOutcome) -> dict[str, Any]:
    if outcome.error_message is not None:
        failed: dict[str, Any] = {
            "type": "QueryFailed",
            "queryId": query_id,
            "errorMessage": outcome.error_message,
            "logLines": outcome.log_lines,
            "journal": outcome.journal,
        }
        if outcome.has_error_data:
            failed["errorData"] = outcome.error_data
        return failed
    return {
        "type": "QueryUpdated",
        "queryId": query_id,
        "value": outcome.value,
        "logLines": outcome.log_lines,
        "journal": outcome.journal,
    }


def _hash(modification: dict[str, Any]) -> bytes:
    text = json.dumps(modification, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()
