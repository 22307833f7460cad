"""The official HTTP clients against a real pyconvex server.

npm ``convex@1.48.0`` (``ConvexHttpClient``, run with Node) and PyPI
``convex==0.8.1`` (the legacy ``ConvexHttpClient``) are the judges of
compatibility: queries, mutations, actions, ``ConvexError`` data, validation
errors, unknown functions, int64/bytes/NaN/-0 values and ``consistentQuery``.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
from convex import ConvexError, ConvexInt64
from convex.http_client import ConvexHttpClient

NODE = Path(__file__).parent / "node"


def test_the_npm_http_client(server_url: str) -> None:
    result = subprocess.run(
        ["node", "http_client.mjs", server_url],
        cwd=NODE,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = json.loads(result.stdout)
    echo = out["echo"]["ok"]
    assert echo["i"] == "7n" and echo["negIsNegZero"] and echo["nanIsNaN"]
    assert echo["b"] == [0, 255] and echo["s"] == "é" and echo["inf"] is None  # -Infinity
    assert out["double"] == {"ok": "42n"}
    assert isinstance(out["add"]["ok"], str) and len(out["add"]["ok"]) == 32
    assert out["addTwice"] == {"ok": 3}
    assert out["fail"]["convexError"] and out["fail"]["data"] == {"code": "7n", "why": "because"}
    assert "Uncaught Error: something broke" in out["crash"]["error"]
    assert not out["crash"]["convexError"]
    assert "ArgumentValidationError" in out["invalid"]["error"]
    assert "Could not find public function for 'api:hidden'" in out["hidden"]["error"]
    before, after = out["consistent"]["ok"]
    assert before == after == 3  # pinned to the first call's snapshot


def test_the_pypi_http_client(server_url: str) -> None:
    client = ConvexHttpClient(server_url)
    echoed = client.query(
        "api:echo", {"i": ConvexInt64(-5), "f": -0.0, "nan": math.nan, "b": b"\x00\x01", "n": 2}
    )
    assert echoed["i"] == ConvexInt64(-5) or echoed["i"] == -5
    assert math.copysign(1, echoed["f"]) == -1 and math.isnan(echoed["nan"])
    assert echoed["b"] == b"\x00\x01" and echoed["n"] == 2.0
    assert client.query("api:double", {"n": ConvexInt64(4)}) == 8
    document_id = client.mutation("api:add", {"text": "from python"})
    assert isinstance(document_id, str) and len(document_id) == 32
    assert client.action("api:add_twice", {"text": "y"}) == 3
    with pytest.raises(ConvexError) as caught:
        client.query("api:fail")
    # The legacy client hands errorData over still encoded (protocol.md section 4).
    assert caught.value.data == {"code": {"$integer": "BwAAAAAAAAA="}, "why": "because"}
    with pytest.raises(Exception, match="Could not find public function"):
        client.query("api:hidden")
    with pytest.raises(Exception, match="ArgumentValidationError"):
        client.query("api:double", {"n": "nope"})
