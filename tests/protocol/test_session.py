"""The sync session state machine, without sockets (protocol/session.py)."""

from __future__ import annotations

import json

import pytest

from pyconvex.protocol.messages import (
    Authenticate,
    Connect,
    ModifyQuerySet,
    Mutation,
    ProtocolError,
    QueryAdd,
    QueryRemove,
    encode_ts,
)
from pyconvex.protocol.session import (
    QueryOutcome,
    RunMutation,
    SyncSession,
    UpdateNeeded,
    VerifyAuth,
)


class Reads:
    """A read set stand-in: the keys it contains."""

    def __init__(self, *keys: bytes) -> None:
        self.keys = set(keys)

    def contains(self, index_id: int, key: bytes) -> bool:
        return key in self.keys


def add(session: SyncSession, base: int, *query_ids: int) -> None:
    adds = tuple(QueryAdd(q, f"q:{q}", [{}], None) for q in query_ids)
    assert session.receive(ModifyQuerySet(base, base + 1, adds)) == [UpdateNeeded()]


def run(session: SyncSession, ts: int, values: dict[int, object]) -> dict | None:
    planned = session.plan_update()
    outcomes = {
        q.query_id: QueryOutcome(value=values.get(q.query_id), read_set=Reads(b"k%d" % q.query_id))
        for q in planned
    }
    transition = session.finish_update(ts, outcomes)
    session.check_invariants()
    return None if transition is None else transition.to_json()


def test_transitions_chain_versions_and_carry_new_results() -> None:
    session = SyncSession()
    session.receive(Connect("s", 0, None))
    add(session, 0, 0, 1)
    first = run(session, 10, {0: "a", 1: "b"})
    assert first is not None
    assert first["startVersion"] == {"querySet": 0, "identity": 0, "ts": encode_ts(0)}
    assert first["endVersion"] == {"querySet": 1, "identity": 0, "ts": encode_ts(10)}
    assert [m["queryId"] for m in first["modifications"]] == [0, 1]
    # Nothing changed and nothing asked for: no transition.
    assert run(session, 11, {}) is None


def test_only_invalidated_queries_rerun_and_unchanged_results_are_not_resent() -> None:
    session = SyncSession()
    add(session, 0, 0, 1)
    run(session, 10, {0: "a", 1: "b"})
    session.mark_dirty(1)
    assert [q.query_id for q in session.plan_update()] == [1]
    session.mark_dirty(1)
    transition = run(session, 12, {1: "b"})  # same result as before
    assert transition is None
    session.mark_dirty(0)
    changed = run(session, 13, {0: "a2"})
    assert changed is not None and changed["modifications"] == [
        {"type": "QueryUpdated", "queryId": 0, "value": "a2", "logLines": [], "journal": None}
    ]
    assert changed["startVersion"]["ts"] == encode_ts(10)


def test_removals_and_failures() -> None:
    session = SyncSession()
    add(session, 0, 0)
    run(session, 5, {0: 1})
    session.receive(ModifyQuerySet(1, 2, (QueryRemove(0), QueryAdd(1, "q:1", [{}], None))))
    planned = session.plan_update()
    failed = QueryOutcome(
        error_message="Uncaught ConvexError: x", error_data="x", has_error_data=True
    )
    finished = session.finish_update(6, {q.query_id: failed for q in planned})
    assert finished is not None
    transition = finished.to_json()
    assert transition["modifications"][0] == {"type": "QueryRemoved", "queryId": 0}
    assert transition["modifications"][1]["type"] == "QueryFailed"
    assert transition["modifications"][1]["errorData"] == "x"


def test_a_transition_follows_every_mutation() -> None:
    session = SyncSession()
    add(session, 0)
    run(session, 5, {})
    assert session.receive(Mutation(0, "m:f", [{}])) == [RunMutation(0, "m:f", [{}])]
    assert session.mutation_done(commit_ts=9) == [UpdateNeeded()]
    transition = run(session, 9, {})
    assert transition is not None and transition["modifications"] == []
    assert transition["endVersion"]["ts"] == encode_ts(9)
    session.mutation_done(commit_ts=None)  # a failed mutation still gets its transition
    assert run(session, 9, {}) is not None


def test_identity_changes_rerun_everything() -> None:
    session = SyncSession()
    add(session, 0, 0)
    run(session, 5, {0: "x"})
    effects = session.receive(Authenticate(0, "User", "jwt"))
    assert effects == [VerifyAuth(0, "User", "jwt")]
    session.set_identity({"subject": "u"})
    transition = run(session, 6, {0: "x"})
    assert transition is not None
    assert transition["endVersion"]["identity"] == 1
    assert [m["queryId"] for m in transition["modifications"]] == [0]  # re-sent


def test_base_version_mismatches_are_protocol_errors() -> None:
    session = SyncSession()
    add(session, 0, 0)
    with pytest.raises(ProtocolError, match="BaseVersionMismatch"):
        session.receive(ModifyQuerySet(0, 1, ()))
    with pytest.raises(ProtocolError, match="BaseVersionMismatch"):
        session.receive(Authenticate(3, "None", None))
    with pytest.raises(ProtocolError):
        session.receive(ModifyQuerySet(1, 1, ()))


def test_the_encoded_transition_is_the_protocol_message() -> None:
    session = SyncSession()
    add(session, 0, 0, 1, 2)
    planned = session.plan_update()
    outcomes = {
        0: QueryOutcome(value={"$integer": "AQAAAAAAAAA="}, log_lines=["[LOG] 'hi'"]),
        1: QueryOutcome(value=[1.5, "é", None], journal="j"),
        2: QueryOutcome(error_message="boom", error_data={"code": 1}, has_error_data=True),
    }
    transition = session.finish_update(7, {q.query_id: outcomes[q.query_id] for q in planned})
    assert transition is not None
    transition.server_ts = 123
    assert json.loads(transition.encode()) == {
        "type": "Transition",
        "startVersion": {"querySet": 0, "identity": 0, "ts": encode_ts(0)},
        "endVersion": {"querySet": 1, "identity": 0, "ts": encode_ts(7)},
        "modifications": [
            {
                "type": "QueryUpdated",
                "queryId": 0,
                "value": {"$integer": "AQAAAAAAAAA="},
                "logLines": ["[LOG] 'hi'"],
                "journal": None,
            },
            {
                "type": "QueryUpdated",
                "queryId": 1,
                "value": [1.5, "é", None],
                "logLines": [],
                "journal": "j",
            },
            {
                "type": "QueryFailed",
                "queryId": 2,
                "errorMessage": "boom",
                "logLines": [],
                "journal": None,
                "errorData": {"code": 1},
            },
        ],
        "clientClockSkew": None,
        "serverTs": 123,
    }


def test_one_outcome_serves_many_sessions_with_their_own_query_ids() -> None:
    shared = QueryOutcome(value="same", read_set=Reads(b"k"))
    texts = []
    for query_id in (3, 8):
        session = SyncSession()
        session.receive(
            ModifyQuerySet(0, 1, (QueryAdd(query_id, "q:f", [{"b": 1, "a": 2}], None),))
        )
        (query,) = session.plan_update()
        assert query.args_key == '[{"a":2,"b":1}]'
        transition = session.finish_update(1, {query_id: shared})
        assert transition is not None
        texts.append(transition.to_json()["modifications"])
    assert texts == [
        [{"type": "QueryUpdated", "queryId": q, "value": "same", "logLines": [], "journal": None}]
        for q in (3, 8)
    ]
