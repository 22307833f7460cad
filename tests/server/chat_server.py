"""The chat example served by a real ``pyconvex dev`` process, on local files or on S3.

The example is copied to a temporary folder first (dev writes ``.pyconvex/`` and
``.env.local`` beside it). On S3, the ``PYCONVEX_S3_*`` settings reach the
server through its environment, as they would in production.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.dev_server import DevServer
from tests.files.moto_server import S3Bucket

EXAMPLE = Path(__file__).parents[2] / "examples" / "chat"


@contextmanager
def chat_server(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    files: str,
    *extra: str,
    env: dict[str, str] | None = None,
) -> Iterator[DevServer]:
    """``pyconvex dev`` on a copy of the chat example; ``files`` is ``"local"`` or ``"s3"``.

    ``env`` adds environment variables (knobs) for the server process.
    """
    project = tmp_path / "chat"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".pyconvex", "__pycache__"))
    args = list(extra)
    saved = dict(os.environ)
    os.environ.update(env or {})
    if files == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        os.environ.update(bucket.env)  # inherited by the server process only
        args += ["--files", bucket.url("chat")]
    try:
        server = DevServer(project, None, *args)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    with server:
        yield server
