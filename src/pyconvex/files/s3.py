"""Files in S3-compatible object storage: ``s3://<bucket>/<prefix>/<key>``.

Works with AWS S3 and S3-compatible services (MinIO, Cloudflare R2, Backblaze
B2, ...; the tests use moto's server). Written on **boto3** rather than
aioboto3: boto3 is AWS's own, kept in step with the S3 API, and its clients are
thread-safe, while aioboto3 wraps aiobotocore, a third-party port that pins
exact botocore versions. Every file-store call blocks anyway (the local store
fsyncs), and pyconvex runs them on worker threads, so an async client would buy
nothing.

* **Upload** streams: bytes are buffered up to one part
  (:data:`~pyconvex.knobs.S3_PART_BYTES`, 8 MiB by default) and each full part
  is sent with ``UploadPart`` before more is read; a file smaller than one part
  is one ``PutObject``. A pending upload therefore holds at most about one part
  in memory, whatever the file's size. Parts grow by the base size every 1,000
  parts, so S3's 10,000-part cap still allows 440 GiB at 8 MiB.
* **Placing** is free: the object is written under its final key, and S3 makes
  it durable before ``CompleteMultipartUpload`` / ``PutObject`` returns. An
  object whose database row was never committed is invisible (files are only
  served through their row) and is swept at the next start.
* **Download** streams ``GetObject`` with a ``Range`` header.
* **Crash recovery**: :meth:`S3FileStore.recover` aborts the multipart uploads
  a crash left unfinished under the prefix, so their parts stop taking space;
  only those idle since before a given time, so that a node starting next to others
  (several nodes share one bucket) spares their uploads in progress.

The prefix belongs to one deployment (:meth:`S3FileStore.claim` writes
``<prefix>/.owner``); objects under it without a row are deleted at startup
(on a deployment of several nodes, only once older than a grace period).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from pyconvex import knobs
from pyconvex.files.base import FileStoreError, FileStoreOwnedError, PendingFile, check_key

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

__all__ = ["ENV_VARS", "S3ConfigError", "S3FileStore", "parse_s3_url"]

#: Environment variables read by :meth:`S3FileStore.from_url` (all optional).
ENV_VARS = {
    "endpoint_url": "PYCONVEX_S3_ENDPOINT_URL",
    "region": "PYCONVEX_S3_REGION",
    "access_key_id": "PYCONVEX_S3_ACCESS_KEY_ID",
    "secret_access_key": "PYCONVEX_S3_SECRET_ACCESS_KEY",
    "session_token": "PYCONVEX_S3_SESSION_TOKEN",
    "addressing_style": "PYCONVEX_S3_ADDRESSING_STYLE",
}
_OWNER_KEY = ".owner"
_PARTS_PER_SIZE_STEP = 1000
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})


class S3ConfigError(FileStoreError):
    """The S3 location or its settings are wrong, or the bucket cannot be reached."""


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` as ``("bucket", "some/prefix")`` (the prefix may be empty).

    Raises:
        S3ConfigError: not an ``s3://`` URL with a bucket name.
    """
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise S3ConfigError(f"Expected s3://BUCKET[/PREFIX], got {url!r}")
    if parts.query or parts.fragment:
        raise S3ConfigError(f"An S3 location takes no ?query or #fragment: {url!r}")
    return parts.netloc, parts.path.strip("/")


class _PendingS3File:
    """One upload: a buffer of at most about one part, sent part by part."""

    def __init__(self, store: S3FileStore, key: str) -> None:
        self.key = key
        self._store = store
        self._object_key = store.object_key(key)
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self._size = 0
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self.finished = False
        self.placed = False

    def write(self, chunk: bytes | bytearray) -> None:
        if self.finished:
            raise ValueError("write() after finish()")
        self._hash.update(chunk)
        self._size += len(chunk)
        self._buffer += chunk
        if len(self._buffer) >= self._part_bytes():
            self._send_part()

    def finish(self) -> tuple[int, bytes]:
        client, bucket = self._store.client, self._store.bucket
        if self._upload_id is None:  # smaller than one part: one request
            body, self._buffer = self._buffer, bytearray()
            client.put_object(Bucket=bucket, Key=self._object_key, Body=_blob(body))
        else:
            if self._buffer:
                self._send_part()
            client.complete_multipart_upload(
                Bucket=bucket,
                Key=self._object_key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
            self._upload_id = None
        self.finished = True
        return self._size, self._hash.digest()

    def abort(self) -> None:
        if self.placed:
            return
        self._buffer = bytearray()
        client, bucket = self._store.client, self._store.bucket
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            client.abort_multipart_upload(Bucket=bucket, Key=self._object_key, UploadId=upload_id)
        if self.finished:
            client.delete_object(Bucket=bucket, Key=self._object_key)

    def _part_bytes(self) -> int:
        # Growing parts keep S3's 10,000-part limit far away without a large first part.
        return self._store.part_bytes * (1 + len(self._parts) // _PARTS_PER_SIZE_STEP)

    def _send_part(self) -> None:
        client, bucket = self._store.client, self._store.bucket
        if self._upload_id is None:
            started = client.create_multipart_upload(Bucket=bucket, Key=self._object_key)
            self._upload_id = started["UploadId"]
        # The buffer itself is the part (boto3 takes a bytearray): no copy is made.
        body, self._buffer = self._buffer, bytearray()
        number = len(self._parts) + 1
        sent = client.upload_part(
            Bucket=bucket,
            Key=self._object_key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=_blob(body),
        )
        self._parts.append({"ETag": sent["ETag"], "PartNumber": number})


class _S3Reader:
    """A ``GetObject`` response body, read as it arrives."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int) -> bytes:
        if self._body is None:
            return b""
        data: bytes = self._body.read(size)
        return data

    def close(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


class S3FileStore:
    """A bucket (and key prefix) of an S3-compatible object store.

    Opening it checks that the bucket is reachable.

    Args:
        bucket: the bucket (it must exist).
        prefix: a key prefix, without leading or trailing ``/`` ("" for the whole bucket).
        client: a boto3 S3 client; default: one made from the arguments below,
            where None means boto3's own defaults (``AWS_*`` environment
            variables, ``~/.aws``, instance roles).
        endpoint_url: the service's URL, for S3-compatible services.
        region: the bucket's region.
        access_key_id: credentials (with ``secret_access_key`` and, for temporary
            credentials, ``session_token``).
        addressing_style: ``path``, ``virtual`` or ``auto``; default ``path`` with
            an ``endpoint_url`` (what most S3-compatible services expect), else ``auto``.
        part_bytes: the multipart part size (at least 5 MiB, S3's minimum).

    Raises:
        S3ConfigError: the bucket is missing or unreachable, or bad settings.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: S3Client | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        addressing_style: str | None = None,
        part_bytes: int = knobs.S3_PART_BYTES,
    ) -> None:
        if part_bytes < 5 << 20:
            raise S3ConfigError("S3 multipart parts must be at least 5 MiB")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_bytes = part_bytes
        self.location = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.client = client or _make_client(
            endpoint_url=endpoint_url,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            session_token=session_token,
            addressing_style=addressing_style,
        )
        self._check_reachable()

    @classmethod
    def from_url(cls, url: str, environ: Mapping[str, str] | None = None) -> S3FileStore:
        """The store at ``s3://bucket/prefix``, with the ``PYCONVEX_S3_*`` settings of ``environ``.

        See :data:`ENV_VARS`; credentials and region not given there come from
        boto3's usual chain (``AWS_ACCESS_KEY_ID``, ``AWS_REGION``, ``~/.aws``, roles).
        """
        bucket, prefix = parse_s3_url(url)
        env = os.environ if environ is None else environ

        def setting(name: str) -> str | None:
            return env.get(ENV_VARS[name]) or None

        return cls(
            bucket,
            prefix,
            endpoint_url=setting("endpoint_url"),
            region=setting("region"),
            access_key_id=setting("access_key_id"),
            secret_access_key=setting("secret_access_key"),
            session_token=setting("session_token"),
            addressing_style=setting("addressing_style"),
        )

    def object_key(self, key: str) -> str:
        """The S3 object key of a file key."""
        return f"{self.prefix}/{key}" if self.prefix else key

    # -- the FileStore interface -------------------------------------------

    def claim(self, owner: str) -> None:
        """Mark the prefix as ``owner``'s (``<prefix>/.owner``), or check that it is."""
        marker = self.object_key(_OWNER_KEY)
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=marker)
        except ClientError as error:
            if _code(error) not in _NOT_FOUND:
                raise
            self.client.put_object(Bucket=self.bucket, Key=marker, Body=owner.encode())
            return
        current = found["Body"].read().decode().strip()
        if current != owner:
            raise FileStoreOwnedError(
                f"{self.location} holds the files of another deployment; give this "
                "deployment its own bucket or prefix"
            )

    def begin(self, key: str) -> _PendingS3File:
        """Start an upload under ``key`` (nothing is sent before the first full part)."""
        return _PendingS3File(self, check_key(key))

    def place(self, pending: PendingFile) -> None:
        """Nothing to do: a finished upload is already durable under its key."""
        if not isinstance(pending, _PendingS3File) or not pending.finished:
            raise TypeError("place() takes a finished file begun by this store")
        pending.placed = True

    def open(self, key: str, start: int = 0, stop: int | None = None) -> _S3Reader:
        """Stream ``[start, stop)`` of an object (one ranged ``GetObject``)."""
        object_key = self.object_key(check_key(key))
        if stop is not None and stop <= start:
            self._head(object_key)  # an empty range still needs the file to exist
            return _S3Reader(None)
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": object_key}
        if start > 0 or stop is not None:
            request["Range"] = f"bytes={start}-{'' if stop is None else stop - 1}"
        try:
            response = self.client.get_object(**request)
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise FileNotFoundError(key) from None
            if _code(error) == "InvalidRange":  # starts at or past the end
                self._head(object_key)
                return _S3Reader(None)
            raise
        return _S3Reader(response["Body"])

    def delete(self, key: str) -> None:
        """Delete an object (S3 answers success for a missing one too)."""
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(check_key(key)))

    def recover(self, before: float) -> None:
        """Abort the multipart uploads under the prefix idle since before ``before``.

        An upload's last activity is its newest part (an upload sends a part
        every :attr:`part_bytes`), else when it began: an upload still sending
        parts is spared however long ago it began.
        """
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self._listing_prefix()
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                key, upload_id = upload["Key"], upload["UploadId"]
                if self._last_active(key, upload_id, upload["Initiated"]) < before:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id
                    )

    def keys(self, placed_before: float | None = None) -> Iterator[str]:
        """Every file key under the prefix (the ``.owner`` marker and foreign names excluded).

        With ``placed_before``, only objects last modified before it (S3 keeps
        an object's time to the second; a multipart object's is when its
        upload began).
        """
        start = self._listing_prefix()
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        )
        for page in pages:
            for entry in page.get("Contents", []):
                name = entry["Key"][len(start) :]
                if name.startswith(".") or "/" in name:
                    continue
                if placed_before is None or entry["LastModified"].timestamp() < placed_before:
                    yield name

    # -- helpers ------------------------------------------------------------

    def _head(self, object_key: str) -> None:
        try:
            self.client.head_object(Bucket=self.bucket, Key=object_key)
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise FileNotFoundError(object_key) from None
            raise

    def _last_active(self, key: str, upload_id: str, initiated: datetime) -> float:
        times = [initiated.timestamp()]
        pages = self.client.get_paginator("list_parts").paginate(
            Bucket=self.bucket, Key=key, UploadId=upload_id
        )
        for page in pages:
            times += [part["LastModified"].timestamp() for part in page.get("Parts", [])]
        return max(times)

    def _listing_prefix(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    def _check_reachable(self) -> None:
        try:
            self.client.list_objects_v2(
                Bucket=self.bucket, Prefix=self._listing_prefix(), MaxKeys=1
            )
        except ClientError as error:
            raise S3ConfigError(
                f"Cannot use {self.location}: {_code(error)}: {_message(error)}"
            ) from None
        except BotoCoreError as error:  # no credentials, unreachable endpoint, ...
            raise S3ConfigError(f"Cannot use {self.location}: {error}") from None


def _make_client(
    *,
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    session_token: str | None,
    addressing_style: str | None,
) -> S3Client:
    if (access_key_id is None) != (secret_access_key is None):
        raise S3ConfigError(
            f"Set both {ENV_VARS['access_key_id']} and {ENV_VARS['secret_access_key']}, or neither"
        )
    style = addressing_style or ("path" if endpoint_url else "auto")
    if style not in ("path", "virtual", "auto"):
        raise S3ConfigError(f"{ENV_VARS['addressing_style']} must be path, virtual or auto")
    config = Config(
        s3=cast("Any", {"addressing_style": style}),
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,
        # Only the checksums S3 requires: the newer defaults (CRC on every
        # upload) are refused by several S3-compatible services, and the SHA-256
        # pyconvex computes itself is what the _storage row records.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=region,
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


def _blob(buffer: bytearray) -> bytes:
    # botocore takes any bytes-like blob (its parameter validator accepts bytearray);
    # the type stubs list only bytes. Passing the buffer itself avoids copying a part.
    return cast(bytes, buffer)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))
