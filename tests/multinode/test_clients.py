"""The official-client suites of ``tests/clients`` against a deployment of two nodes.

Each Node script runs with its reading client connected to node B and, where the
script writes through a second client, that client on node A; the restart
script's client is moved from a killed node to the survivor by a load balancer.
The observations must be exactly those of a single node.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.clients.test_sync_clients import (
    check_optimistic_client,
    check_paginated_hook,
    check_sync_client,
    run_script,
)
from tests.multinode.cluster import NODE_CLIENTS, Balancer, Node, eventually

pytestmark = pytest.mark.postgres


@pytest.fixture
def nodes(postgres_url: str) -> Iterator[tuple[Node, Node]]:
    # Small TransitionChunks, for big_result.mjs; the other scripts' messages are smaller.
    env = {"PYCONVEX_SYNC_TRANSITION_CHUNK_BYTES": "2000"}
    a = Node(postgres_url, env=env)
    try:
        b = Node(postgres_url, env=env)
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def test_the_npm_sync_client_reads_on_b_and_writes_through_a(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    check_sync_client(run_script("sync_client.mjs", b.url, a.url, timeout=120))
    # HTTP reads on A may trail writes made through B by a few milliseconds (documented).
    assert eventually(lambda: a.call("query", "api:count"), lambda n: n == 24) == 24
    assert b.call("query", "api:count") == 24


def test_the_react_paginated_hook_on_b_with_writes_through_a(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    check_paginated_hook(run_script("paginated_hook.mjs", b.url, a.url, timeout=120))


def test_optimistic_updates_on_b_with_a_write_through_a(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    out = run_script("optimistic_client.mjs", b.url, a.url, timeout=120)
    check_optimistic_client(out)
    assert out["afterOtherNode"] == 2


def test_chunked_transitions_from_b(nodes: tuple[Node, Node]) -> None:
    _, b = nodes
    out = run_script("big_result.mjs", b.url, "20000", timeout=120)  # ~40 KB: 20 chunks
    assert out == {"intact": True, "length": 20000}


def test_a_mutation_pending_when_its_node_dies_applies_once_on_the_other(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    with Balancer([a, b]) as balancer:  # the client lands on a, then on b
        client = subprocess.Popen(
            ["node", "restart_client.mjs", balancer.url],
            cwd=NODE_CLIENTS,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert client.stdout is not None
            while (line := client.stdout.readline()) and line.strip() != "sent":
                pass
            assert line.strip() == "sent"
            time.sleep(0.4)  # the mutation is running on a (it takes 0.9 s)
            a.kill()
            output, errors = client.communicate(timeout=60)
            assert client.returncode == 0, errors[-2000:]
        finally:
            if client.poll() is None:
                client.kill()
    result = json.loads(output.strip().splitlines()[-1])
    assert result["count"] == 1
    assert b.call("query", "api:texts") == ["once"]
