"""Two ``pyconvex`` server processes serving one deployment from one PostgreSQL database.

Mutations replayed on the other node after a reconnect apply once; a node
killed under load loses no acknowledged commit and its clients carry on through
a surviving node; the PyPI client subscribed on one node sees writes through the
other. (The npm client suites across two nodes are in ``test_clients.py``.)
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from convex import ConvexClient
from websockets.sync.client import connect

from pyconvex.protocol.messages import decode_ts, encode_ts
from tests.multinode.cluster import NODE_CLIENTS, Balancer, Node

pytestmark = pytest.mark.postgres


@pytest.fixture
def nodes(postgres_url: str) -> Iterator[tuple[Node, Node]]:
    a = Node(postgres_url)
    try:
        b = Node(postgres_url)
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def _socket_url(node: Node) -> str:
    return f"ws://127.0.0.1:{node.port}/api/sync"


def _mutate(
    node: Node, session: str, connection_count: int, observed: int | None
) -> dict[str, Any]:
    """Connect to ``node`` as ``session`` and send mutation request 0; return its response."""
    hello: dict[str, Any] = {
        "type": "Connect",
        "sessionId": session,
        "connectionCount": connection_count,
        "clientTs": 0,
    }
    if observed is not None:
        hello["maxObservedTimestamp"] = encode_ts(observed)
    mutation = {"type": "Mutation", "requestId": 0, "udfPath": "api:add", "args": [{"text": "x"}]}
    with connect(_socket_url(node)) as socket:
        socket.send(json.dumps(hello))
        socket.send(json.dumps(mutation))
        while True:
            message = json.loads(socket.recv(timeout=30))
            if message["type"] == "MutationResponse":
                return message


def test_a_mutation_replayed_on_the_other_node_applies_once(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    session = str(uuid.uuid4())
    first = _mutate(a, session, 0, None)
    assert first["success"]
    # The client lost the connection before it saw the response, reconnected
    # through the load balancer to the other node, and replays the request.
    again = _mutate(b, session, 1, decode_ts(first["ts"]))
    assert again["success"] and again["result"] == first["result"]
    assert again["ts"] == first["ts"]
    assert b.call("query", "api:texts") == ["x"]


def test_a_node_killed_under_load_loses_no_acknowledged_commit(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    count = 300

    def client(url: str, tag: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["node", "failover_client.mjs", url, str(count), tag],
            cwd=NODE_CLIENTS,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    with Balancer([a, b]) as balancer:
        moved = client(balancer.url, "moved")  # on a until a dies, then on b
        steady = client(b.url, "steady")  # load on the surviving node meanwhile
        try:
            assert moved.stdout is not None
            while (line := moved.stdout.readline()) and line.strip() != "progress":
                pass
            assert line.strip() == "progress"
            a.kill()
            results = {}
            for tag, process in (("moved", moved), ("steady", steady)):
                output, errors = process.communicate(timeout=120)
                assert process.returncode == 0, errors[-3000:]
                results[tag] = json.loads(output.strip().splitlines()[-1])["acknowledged"]
        finally:
            for process in (moved, steady):
                if process.poll() is None:
                    process.kill()
    stored = Counter(b.call("query", "api:texts"))  # type: ignore[arg-type]
    for tag, acknowledged in results.items():
        assert len(acknowledged) == count, tag  # every pending mutation was replayed
        assert all(stored[text] == 1 for text in acknowledged), tag  # present, exactly once
    assert sum(stored.values()) == 2 * count  # and nothing else


def test_the_pypi_client_subscribed_on_one_node_sees_writes_through_the_other(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    reader, writer = ConvexClient(b.url), ConvexClient(a.url)
    subscription = reader.subscribe("api:count")
    updates = iter(subscription)
    assert next(updates) == 0
    writer.mutation("api:add", {"text": "through a"})
    assert next(updates) == 1
    assert reader.query("api:texts") == ["through a"]
    subscription.unsubscribe()
