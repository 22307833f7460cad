"""The chat example's React frontend (examples/chat/web) type-checks against the generated API.

Includes the guide's Frontend Integration snippets (web/src/guide/), which must
compile as written. The browser tests (test_chat_browser.py) run it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pyconvex.codegen import write_generated
from pyconvex.functions.loader import load_app

CHAT = Path(__file__).parents[2] / "examples" / "chat"
TSC = CHAT / "node_modules" / ".bin" / "tsc"
GUIDE_SNIPPETS = ["MessageList", "MessageForm", "EmailButton", "PaginatedMessages", "FileUpload"]


def test_the_frontend_and_the_guide_snippets_compile_with_the_generated_types() -> None:
    if not TSC.exists():
        pytest.fail(f"{TSC} is missing: run ./scripts/install")
    app = load_app(CHAT / "convex")
    write_generated(CHAT / "convex", app.registry, app.schema)  # what `pyconvex dev` keeps fresh
    for name in GUIDE_SNIPPETS:
        assert (CHAT / "web" / "src" / "guide" / f"{name}.tsx").exists(), name
    result = subprocess.run(
        [str(TSC), "--noEmit", "-p", "web", "--pretty", "false"],
        cwd=CHAT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
