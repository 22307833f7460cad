"""The guide's browser upload flow with the official npm client and fetch(), on local and S3."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

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
