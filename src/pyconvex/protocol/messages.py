"""Sync-protocol messages: parsing what clients send, building what the server sends.

Client messages arrive as JSON objects with a ``type`` (protocol.md 3.2) and are
parsed into frozen dataclasses; malformed ones raise :class:`ProtocolError`.
Server messages (3.3) are built as plain dicts ready for ``json.dumps``.
Timestamps travel as base64 of 8 little-endian bytes (3.4).
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from typing import Any

__all__ = [
    "accepts_transition_chunks",
    "split_transition",
    "Action",
    "Authenticate",
    "ClientMessage",
    "Connect",
    "Event",
    "Mutation",
    "ModifyQuerySet",
    "ProtocolError",
    "QueryAdd",
    "QueryRemove",
    "Version",
    "decode_ts",
    "encode_ts",
    "parse_client_message",
]

_TS = struct.Struct("<Q")


class ProtocolError(Exception):
    """A client broke the protocol (answered with a FatalError)."""


def encode_ts(ts: int) -> str:
    """A timestamp as the protocol writes it."""
    return base64.b64encode(_TS.pack(ts)).decode("ascii")


def decode_ts(text: Any) -> int:
    """Read a protocol timestamp."""
    try:
        value: int = _TS.unpack(base64.b64decode(text, validate=True))[0]
    except Exception:
        raise ProtocolError(f"Invalid timestamp {text!r}") from None
    return value


@dataclass(frozen=True, slots=True)
class Version:
    """The (querySet, identity, ts) triple of a client's view."""

    query_set: int = 0
    identity: int = 0
    ts: int = 0

    def to_json(self) -> dict[str, Any]:
        """The wire form."""
        return {"querySet": self.query_set, "identity": self.identity, "ts": encode_ts(self.ts)}

    def to_json_text(self) -> str:
        """The wire form as compact JSON text (what every Transition carries twice)."""
        return (
            f'{{"querySet":{self.query_set},"identity":{self.identity},'
            f'"ts":"{encode_ts(self.ts)}"}}'
        )


@dataclass(frozen=True, slots=True)
class Connect:
    """The first message on every socket."""

    session_id: str
    connection_count: int
    max_observed_ts: int | None


@dataclass(frozen=True, slots=True)
class QueryAdd:
    """Subscribe ``query_id`` to a query."""

    query_id: int
    udf_path: str
    args: Any
    journal: str | None


@dataclass(frozen=True, slots=True)
class QueryRemove:
    """Unsubscribe ``query_id``."""

    query_id: int


@dataclass(frozen=True, slots=True)
class ModifyQuerySet:
    """Change the subscribed queries, from ``base_version`` to ``new_version``."""

    base_version: int
    new_version: int
    modifications: tuple[QueryAdd | QueryRemove, ...]


@dataclass(frozen=True, slots=True)
class Mutation:
    """Run a mutation (``request_id`` is unique per client object)."""

    request_id: int
    udf_path: str
    args: Any


@dataclass(frozen=True, slots=True)
class Action:
    """Run an action."""

    request_id: int
    udf_path: str
    args: Any


@dataclass(frozen=True, slots=True)
class Authenticate:
    """Set the identity: ``token_type`` is ``User``, ``Admin`` or ``None``."""

    base_version: int
    token_type: str
    value: str | None
    #: For ``Admin``: the user identity the admin acts as (``impersonating`` / ``actingAs``).
    acting_as: Any = None


@dataclass(frozen=True, slots=True)
class Event:
    """Client telemetry (ignored)."""

    event_type: str


ClientMessage = Connect | ModifyQuerySet | Mutation | Action | Authenticate | Event


def parse_client_message(message: Any) -> ClientMessage:
    """Parse one decoded JSON frame.

    Raises:
        ProtocolError: not a valid client message.
    """
    if not isinstance(message, dict):
        raise ProtocolError("Every message must be a JSON object")
    kind = message.get("type")
    try:
        if kind == "Connect":
            observed = message.get("maxObservedTimestamp")
            return Connect(
                str(message["sessionId"]),
                int(message.get("connectionCount", 0)),
                decode_ts(observed) if observed is not None else None,
            )
        if kind == "ModifyQuerySet":
            return ModifyQuerySet(
                _u32(message["baseVersion"]),
                _u32(message["newVersion"]),
                tuple(_modification(m) for m in message["modifications"]),
            )
        if kind in ("Mutation", "Action"):
            cls = Mutation if kind == "Mutation" else Action
            return cls(_u32(message["requestId"]), str(message["udfPath"]), message.get("args"))
        if kind == "Authenticate":
            return Authenticate(
                _u32(message["baseVersion"]),
                str(message["tokenType"]),
                message.get("value"),
                message.get("impersonating", message.get("actingAs")),
            )
        if kind == "Event":
            return Event(str(message.get("eventType", "")))
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"Malformed {kind} message: {error}") from None
    raise ProtocolError(f"Unknown message type {kind!r}")


def _modification(item: Any) -> QueryAdd | QueryRemove:
    kind = item["type"]
    if kind == "Add":
        return QueryAdd(
            _u32(item["queryId"]), str(item["udfPath"]), item.get("args"), item.get("journal")
        )
    if kind == "Remove":
        return QueryRemove(_u32(item["queryId"]))
    raise ProtocolError(f"Unknown query set modification {kind!r}")


def _u32(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"{value!r} is not an integer")
    number = int(value)
    if not 0 <= number < 2**32:
        raise ValueError(f"{number} is out of range")
    return number


#: The first npm client version that reassembles ``TransitionChunk`` messages.
_FIRST_CHUNKING_CLIENT = (1, 28, 0)


def accepts_transition_chunks(client_version: str | None) -> bool:
    """Whether a client on ``/api/{client_version}/sync`` reassembles ``TransitionChunk``.

    Only npm clients from 1.28.0 do; the Rust/Python client (``/api/sync``, no
    version) treats one as a protocol error.
    """
    if client_version is None:
        return False
    parts = client_version.split("-")[0].split(".")
    try:
        numbers = tuple(int(part) for part in parts[:3])
    except ValueError:
        return False
    return len(numbers) == 3 and numbers >= _FIRST_CHUNKING_CLIENT


def split_transition(text: str, max_bytes: int, transition_id: str) -> list[str]:
    """``TransitionChunk`` messages carrying ``text`` in slices of at most ``max_bytes``.

    Slices are cut at character boundaries (of the UTF-8 encoding) and join
    back to ``text`` in ``partNumber`` order. A text that fits is one chunk.
    """
    data = text.encode()
    slices: list[str] = []
    start = 0
    while start < len(data) or not slices:
        end = min(start + max(max_bytes, 4), len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a character
            end -= 1
        slices.append(data[start:end].decode())
        start = end
    return [
        json.dumps(
            {
                "type": "TransitionChunk",
                "chunk": chunk,
                "partNumber": number,
                "totalParts": len(slices),
                "transitionId": transition_id,
            },
            separators=(",", ":"),
        )
        for number, chunk in enumerate(slices)
    ]
