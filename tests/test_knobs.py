"""Knobs (knobs.py): Convex's defaults, overridable from the environment."""

from __future__ import annotations

import subprocess
import sys

import pyconvex.knobs as knobs


def test_defaults_are_convexs() -> None:
    assert knobs.TRANSACTION_MAX_READ_ROWS == 32_000
    assert knobs.TRANSACTION_MAX_WRITE_DOCUMENTS == 16_000
    assert knobs.OCC_MAX_RETRIES == 4
    assert knobs.VALUE_MAX_BYTES == 1 << 20
    assert all(isinstance(getattr(knobs, name), (int, float)) for name in knobs.__all__)


def test_environment_overrides() -> None:
    output = subprocess.run(
        [sys.executable, "-c", "import pyconvex.knobs as k; print(k.OCC_MAX_RETRIES)"],
        env={"PYCONVEX_OCC_MAX_RETRIES": "9", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert output.stdout.strip() == "9"
