"""A real S3 API server on loopback for the tests: moto's server, in its own process.

Its own process keeps moto's in-memory objects (and its request handling) out of
the test process. The ``s3_server`` fixture starts one per test session on a free
port; ``s3_bucket`` gives each test a fresh bucket, the ``PYCONVEX_S3_*``
settings that reach it, and a boto3 client for looking at what is stored.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

_SERVER = """
import logging, sys
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the tests close our stdin (or die)
server.stop()
"""

#: Credentials moto accepts (any do); passed explicitly, never taken from the machine.
ACCESS_KEY_ID = "pyconvex-test"
SECRET_ACCESS_KEY = "pyconvex-test-secret"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Bucket:
    """One test's bucket on the moto server."""

    endpoint_url: str
    name: str
    client: Any

    @property
    def env(self) -> dict[str, str]:
        """The ``PYCONVEX_S3_*`` settings that reach this server."""
        return {
            "PYCONVEX_S3_ENDPOINT_URL": self.endpoint_url,
            "PYCONVEX_S3_REGION": REGION,
            "PYCONVEX_S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "PYCONVEX_S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }

    def url(self, prefix: str = "files") -> str:
        """``s3://<bucket>/<prefix>``."""
        return f"s3://{self.name}/{prefix}"

    def objects(self, prefix: str = "") -> list[str]:
        """Every object key under ``prefix``."""
        listing = self.client.list_objects_v2(Bucket=self.name, Prefix=prefix)
        return sorted(entry["Key"] for entry in listing.get("Contents", []))

    def unfinished_uploads(self) -> list[str]:
        """Keys of multipart uploads begun and neither completed nor aborted."""
        listing = self.client.list_multipart_uploads(Bucket=self.name)
        return sorted(upload["Key"] for upload in listing.get("Uploads", []))


def client_for(endpoint_url: str) -> Any:
    """A boto3 S3 client of the moto server."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The endpoint URL of a moto S3 server on a free loopback port."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    port = process.stdout.readline().strip()
    assert port.isdigit(), "the moto server did not start"
    yield f"http://127.0.0.1:{port}"
    process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


@pytest.fixture
def s3_bucket(s3_server: str) -> S3Bucket:
    """A new, empty bucket of its own for one test."""
    client = client_for(s3_server)
    name = f"pyconvex-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    return S3Bucket(s3_server, name, client)
