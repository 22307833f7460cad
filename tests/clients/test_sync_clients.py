"""The official WebSocket clients against a real pyconvex server (live queries).

npm ``convex@1.48.0`` ``ConvexClient`` (Node, its bundled ``ws``) and PyPI
``convex==0.8.1`` ``ConvexClient``: subscriptions, live updates from another
client, read-your-writes, snapshot consistency across two queries changed by
one mutation, ``ConvexError`` data on queries and mutations, every value type; the
React ``usePaginatedQuery`` hook (pages growing and shrinking between fixed
boundaries) and the ``BaseConvexClient`` optimistic-update path.

The ``check_*`` functions hold what each Node script must observe;
``tests/multinode/test_clients.py`` runs the same scripts against two nodes.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
from convex import ConvexClient, ConvexError, ConvexInt64

NODE = Path(__file__).parent / "node"


def run_script(*args: str, timeout: float = 60) -> Any:
    """Run a Node script of ``tests/clients/node``; return the JSON of its last line."""
    result = subprocess.run(
        ["node", *args], cwd=NODE, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_sync_client(out: dict[str, Any]) -> None:
    """What ``sync_client.mjs`` must observe."""
    assert out["initial"] == {"count": 0, "texts": []}
    assert out["afterWriter"] == {"count": 1, "texts": ["from writer"]}
    assert out["readYourWrites"] == {"count": 2, "texts": ["from writer", "mine"]}
    assert out["inconsistentTransitions"] == 0
    assert out["queryError"] == {"convexError": True, "data": {"code": "7n", "why": "because"}}
    assert out["mutationError"] == {"convexError": True, "data": "refused"}
    echo = out["echo"]
    assert echo["i"] == "-9007199254740993n" and echo["b"] == [1, 2] and echo["s"] == "ü"
    assert echo["nan"] is None and echo["inf"] is None  # JSON.stringify of NaN / Infinity
    assert echo["nested"] == {"a": [None, True, 1.5]}
    assert out["echoNegZero"] is True
    assert out["action"] == 24  # 22 notes, plus the two the action adds


def test_the_npm_sync_client(server_url: str) -> None:
    check_sync_client(run_script("sync_client.mjs", server_url))


def test_the_pypi_sync_client(server_process_url: str) -> None:
    client = ConvexClient(server_process_url)
    try:
        subscription = client.subscribe("api:count")
        updates = iter(subscription)
        assert next(updates) == 0
        client.mutation("api:add", {"text": "py"})
        assert next(updates) == 1
        echoed = client.query("api:echo", {"i": ConvexInt64(-3), "f": -0.0, "n": math.inf})
        assert echoed["i"] == ConvexInt64(-3) or echoed["i"] == -3
        assert math.copysign(1, echoed["f"]) == -1 and echoed["n"] == math.inf
        with pytest.raises(ConvexError) as caught:
            client.query("api:fail")
        assert "because" in str(caught.value.data)
        assert client.action("api:add_twice", {"text": "x"}) == 3
        subscription.unsubscribe()
    finally:
        client.close() if hasattr(client, "close") else None


def check_paginated_hook(steps: dict[str, Any]) -> None:
    """What ``paginated_hook.mjs`` must observe."""
    assert steps["first"] == {"results": ["n4", "n3"], "status": "CanLoadMore"}
    assert steps["loaded"] == {"results": ["n4", "n3", "n2", "n1"], "status": "CanLoadMore"}
    # Page boundaries stay fixed: an insert inside page one grows it, deletes shrink
    # pages, and n0 (past the loaded pages) never shows until asked for.
    assert steps["grown"]["results"] == ["n5", "n4", "n3", "n2", "n1"]
    assert steps["shrunk"]["results"] == ["n5", "n4", "n2", "n1"]
    assert steps["shrunkTwo"]["results"] == ["n5", "n4", "n2"]
    assert steps["exhausted"] == {"results": ["n5", "n4", "n2", "n0"], "status": "Exhausted"}


def test_the_react_usepaginatedquery_hook(server_url: str) -> None:
    # convex/react's usePaginatedQuery, unmodified, rendered in Node (react-dom + jsdom).
    check_paginated_hook(run_script("paginated_hook.mjs", server_url))


def check_optimistic_client(out: dict[str, Any]) -> None:
    """What ``optimistic_client.mjs`` must observe."""
    assert out["initial"] == 0
    assert out["whilePending"] == 1  # shown before the server answered
    assert out["afterCommit"] == 1  # the server's result replaced it: no double count
    assert out["whileFailing"] == 2 and out["failed"] is True
    assert out["afterFailure"] == 1  # rolled back
    # Every value the client showed, repeats folded: never a glimpse of a state the
    # server did not reach or the client did not predict (a Transition showing the
    # mutation's commit before its MutationResponse would show 2 after the first 1:
    # the optimistic update counted on top of the mutation's own effect).
    shown = [value for i, value in enumerate(out["seen"]) if i == 0 or out["seen"][i - 1] != value]
    if "afterOtherNode" not in out:
        assert shown == [0, 1, 2, 1]
        return
    assert out["afterOtherNode"] == 2  # a write through another node arrived
    assert out["whilePendingAgain"] == 3 and out["afterCommitAgain"] == 3
    assert shown == [0, 1, 2, 1, 2, 3]


def test_optimistic_updates_of_the_base_client(server_url: str) -> None:
    check_optimistic_client(run_script("optimistic_client.mjs", server_url))


def test_the_npm_client_reassembles_chunked_transitions(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pyconvex.knobs.SYNC_TRANSITION_CHUNK_BYTES", 2000)
    out = run_script("big_result.mjs", server_url, "20000")  # ~40 KB: 20 chunks
    assert out == {"intact": True, "length": 20000}
