"""A 200 MB file through a real server process, with the server's memory watched.

The upload goes through the guide's upload URL from a streamed body (never a
200 MB object in the test either); a thread samples the server process's
resident memory (``VmRSS`` in ``/proc/<pid>/status``) all along. Then the file is
downloaded back, streamed, and its SHA-256 compared. On the local store and on S3.

About 15 s, so marked ``large_files``: excluded from the default run, run in CI's
own step with ``pytest -m large_files``. (The default suite checks streaming in
bounded memory with tracemalloc: tests/files/test_conformance.py and
tests/functions/test_storage.py.)
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.chat_server import chat_server

MiB = 1 << 20
SIZE = 200 * MiB
#: Far below the file's size: a server that held the file would blow through it.
MAX_RSS_GROWTH = 50 * MiB


def rss(pid: int) -> int:
    """The resident memory of process ``pid`` (bytes)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


class PeakRss:
    """Samples a process's resident memory on a thread until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss(self.pid))


def body(digest: hashlib._Hash) -> Iterator[bytes]:
    """SIZE pseudo-random bytes, 1 MiB at a time, hashed as they are sent."""
    rng = random.Random(8)
    for _ in range(SIZE // MiB):
        chunk = rng.randbytes(MiB)
        digest.update(chunk)
        yield chunk


@pytest.mark.large_files
@pytest.mark.parametrize("files", ["local", "s3"])
def test_a_200_mb_file_streams_in_and_out_of_the_server(
    files: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with chat_server(tmp_path, request, files) as server:
        # A small upload first, so everything loaded lazily is loaded before measuring.
        warm_up = str(server.value("mutation", "files:generateUploadUrl"))
        assert httpx.post(warm_up, content=b"warm up").status_code == 200
        upload_url = str(server.value("mutation", "files:generateUploadUrl"))
        pid = server.process.pid
        sent = hashlib.sha256()
        baseline = rss(pid)
        with PeakRss(pid) as uploading:
            response = httpx.post(
                upload_url,
                content=body(sent),
                headers={"Content-Type": "video/mp4", "Content-Length": str(SIZE)},
                timeout=120,
            )
        assert response.status_code == 200, response.text
        assert uploading.peak - baseline < MAX_RSS_GROWTH, (uploading.peak - baseline) / MiB

        storage_id = response.json()["storageId"]
        url = str(server.value("mutation", "files:getUrl", {"storageId": storage_id}))
        received, size = hashlib.sha256(), 0
        baseline = rss(pid)
        with PeakRss(pid) as downloading, httpx.stream("GET", url, timeout=120) as served:
            assert served.headers["content-length"] == str(SIZE)
            assert served.headers["content-type"] == "video/mp4"
            for chunk in served.iter_bytes():
                received.update(chunk)
                size += len(chunk)
        assert downloading.peak - baseline < MAX_RSS_GROWTH, (downloading.peak - baseline) / MiB
        assert size == SIZE and received.digest() == sent.digest()
        assert served.headers["digest"] == f"sha-256={base64.b64encode(sent.digest()).decode()}"
