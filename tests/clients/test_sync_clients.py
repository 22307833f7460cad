"""The official WebSocket clients against a real pyconvex server (live queries).

npm ``convex@1.48.0`` ``ConvexClient`` (Node, its bundled ``ws``) and PyPI
``convex==0.8.1`` ``ConvexClient``: subscriptions, live updates from another
client, read-your-writes, snapshot consistency across two queries changed by
one mutation, ``ConvexError`` data on queries and mutations, every value type; the
React ``usePaginatedQuery`` hook (pages growing and shrinking between fixed
boundaries) and the ``BaseConvexClient`` optimistic-update path.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
from convex import ConvexClient, ConvexError, ConvexInt64

NODE = Path(__file__).parent / "node"


def test_the_npm_sync_client(server_url: str) -> None:
    result = subprocess.run(
        ["node", "sync_client.mjs", server_url],
        cwd=NODE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
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


def test_the_react_usepaginatedquery_hook(server_url: str) -> None:
    # convex/react's usePaginatedQuery, unmodified, rendered in Node (react-dom + jsdom).
    result = subprocess.run(
        ["node", "paginated_hook.mjs", server_url],
        cwd=NODE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    steps = json.loads(result.stdout.strip().splitlines()[-1])
    assert steps["first"] == {"results": ["n4", "n3"], "status": "CanLoadMore"}
    assert steps["loaded"] == {"results": ["n4", "n3", "n2", "n1"], "status": "CanLoadMore"}
    # Page boundaries stay fixed: an insert inside page one grows it, deletes shrink
    # pages, and n0 (past the loaded pages) never shows until asked for.
    assert steps["grown"]["results"] == ["n5", "n4", "n3", "n2", "n1"]
    assert steps["shrunk"]["results"] == ["n5", "n4", "n2", "n1"]
    assert steps["shrunkTwo"]["results"] == ["n5", "n4", "n2"]
    assert steps["exhausted"] == {"results": ["n5", "n4", "n2", "n0"], "status": "Exhausted"}


def test_optimistic_updates_of_the_base_client(server_url: str) -> None:
    result = subprocess.run(
        ["node", "optimistic_client.mjs", server_url],
        cwd=NODE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["initial"] == 0
    assert out["whilePending"] == 1  # shown before the server answered
    assert out["afterCommit"] == 1  # the server's result replaced it: no double count
    assert out["whileFailing"] == 2 and out["failed"] is True
    assert out["afterFailure"] == 1  # rolled back
    # Never a glimpse of a state the server did not reach or the client did not predict.
    assert set(out["seen"]) <= {0, 1, 2}


def test_the_npm_client_reassembles_chunked_transitions(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pyconvex.knobs.SYNC_TRANSITION_CHUNK_BYTES", 2000)
    result = subprocess.run(
        ["node", "big_result.mjs", server_url, "20000"],  # ~40 KB: 20 chunks
        cwd=NODE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"intact": True, "length": 20000}
