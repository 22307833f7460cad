"""Uploads to a real server: the guide's browser flow (npm client, fetch) on local and S3."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.chat_server import chat_server

NODE = Path(__file__).parent / "node"


@pytest.mark.parametrize("files", ["local", "s3"])
def test_the_guides_browser_upload(
    files: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with chat_server(tmp_path, request, files) as server:
        where = server.output.split("  files: ")[1].splitlines()[0]
        assert where.startswith("s3://pyconvex-") if files == "s3" else where.endswith("files")
        result = subprocess.run(
            ["node", "upload_file.mjs", server.url],
            cwd=NODE,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["uploadStatus"] == 200
    assert out["url"] == f"{server.url}/api/storage/{out['storageId']}"
    assert out["servedStatus"] == 200 and out["same"] is True
    assert out["contentType"] == "image/png" and out["contentLength"] == "300000"
    assert out["partialStatus"] == 206 and out["partial"] == out["expectedPartial"]
    assert out["reused"] == {
        "status": 401,
        "body": {"code": "StorageTokenInvalid", "message": "Storage upload token already used"},
    }
    [saved] = out["listed"]  # the live query saw the saved file, with its URL
    assert saved["storageId"] == out["storageId"] and saved["url"] == out["url"]
    assert saved["name"] == "photo.png" and saved["type"] == "image/png"


def test_an_upload_over_the_limit_is_refused_early(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    limit = {"PYCONVEX_FILE_UPLOAD_MAX_BYTES": str(1 << 20)}
    with chat_server(tmp_path, request, "local", env=limit) as server:
        url = str(server.value("mutation", "files:generateUploadUrl"))

        def body() -> Iterator[bytes]:  # 64 MiB, chunked: no Content-Length to go by
            for _ in range(1024):
                yield b"x" * (1 << 16)

        refused = httpx.post(url, content=body(), timeout=30)
        assert refused.status_code == 413 and refused.json()["code"] == "FileTooLarge"
        assert not any((server.project / ".pyconvex" / "files" / ".tmp").iterdir())
        assert httpx.post(url, content=b"fits").status_code == 200  # the token was kept
