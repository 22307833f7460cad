"""Parsing client messages and encoding timestamps (protocol/messages.py)."""

from __future__ import annotations

import pytest

from pyconvex.protocol.messages import (
    Authenticate,
    Connect,
    ModifyQuerySet,
    Mutation,
    ProtocolError,
    QueryAdd,
    QueryRemove,
    Version,
    decode_ts,
    encode_ts,
    parse_client_message,
)


def test_timestamps_are_base64_little_endian() -> None:
    assert encode_ts(0) == "AAAAAAAAAAA="
    assert decode_ts(encode_ts(1_795_562_866_552_195_857)) == 1_795_562_866_552_195_857
    with pytest.raises(ProtocolError):
        decode_ts("not base64!")
    assert Version(1, 2, 0).to_json() == {"querySet": 1, "identity": 2, "ts": "AAAAAAAAAAA="}


def test_the_captured_js_frames_parse() -> None:
    connect = parse_client_message(
        {
            "connectionCount": 1,
            "lastCloseReason": None,
            "clientTs": 1,
            "type": "Connect",
            "sessionId": "37a83caa",
            "maxObservedTimestamp": "EnB9D+oe6xg=",
        }
    )
    assert isinstance(connect, Connect) and connect.session_id == "37a83caa"
    assert connect.max_observed_ts == decode_ts("EnB9D+oe6xg=")
    modify = parse_client_message(
        {
            "type": "ModifyQuerySet",
            "baseVersion": 0,
            "newVersion": 1,
            "modifications": [
                {
                    "type": "Add",
                    "queryId": 0,
                    "udfPath": "messages:list",
                    "args": [{}],
                    "journal": None,
                },
                {"type": "Remove", "queryId": 3},
            ],
        }
    )
    assert modify == ModifyQuerySet(
        0, 1, (QueryAdd(0, "messages:list", [{}], None), QueryRemove(3))
    )
    mutation = parse_client_message(
        {"type": "Mutation", "requestId": 0, "udfPath": "messages", "args": [{"a": 1}]}
    )
    assert mutation == Mutation(0, "messages", [{"a": 1}])
    auth = parse_client_message({"type": "Authenticate", "baseVersion": 0, "tokenType": "None"})
    assert auth == Authenticate(0, "None", None)


@pytest.mark.parametrize(
    "frame",
    [
        [],
        {"type": "Nope"},
        {"type": "Mutation", "udfPath": "a:b"},
        {"type": "ModifyQuerySet", "baseVersion": -1, "newVersion": 1, "modifications": []},
        {
            "type": "ModifyQuerySet",
            "baseVersion": 0,
            "newVersion": 1,
            "modifications": [{"type": "Change"}],
        },
        {"type": "Mutation", "requestId": 1.5, "udfPath": "a:b"},
    ],
)
def test_malformed_frames_are_protocol_errors(frame: object) -> None:
    with pytest.raises(ProtocolError):
        parse_client_message(frame)


def test_only_npm_clients_from_1_28_get_transition_chunks() -> None:
    from pyconvex.protocol.messages import accepts_transition_chunks

    assert accepts_transition_chunks("1.48.0") and accepts_transition_chunks("1.28.0")
    assert not accepts_transition_chunks("1.27.9")
    assert not accepts_transition_chunks(None)  # /api/sync: the Rust/Python client
    assert not accepts_transition_chunks("garbage") and not accepts_transition_chunks("1.x")
    assert accepts_transition_chunks("2.0.0-alpha.1")


def test_transition_chunks_split_at_character_boundaries_and_join_back() -> None:
    import json

    from pyconvex.protocol.messages import split_transition

    text = json.dumps({"type": "Transition", "value": "aé€😀" * 500})
    chunks = [json.loads(c) for c in split_transition(text, 1000, "t1")]
    assert len(chunks) > 1
    assert [c["partNumber"] for c in chunks] == list(range(len(chunks)))
    assert {c["totalParts"] for c in chunks} == {len(chunks)}
    assert {c["transitionId"] for c in chunks} == {"t1"}
    assert all(len(c["chunk"].encode()) <= 1000 for c in chunks)
    assert "".join(c["chunk"] for c in chunks) == text
    assert [json.loads(c)["chunk"] for c in split_transition("{}", 1000, "t")] == ["{}"]


def test_a_version_as_text_is_its_json() -> None:
    import json

    from pyconvex.protocol.messages import Version

    version = Version(3, 1, 2**63 + 5)
    assert json.loads(version.to_json_text()) == version.to_json()
