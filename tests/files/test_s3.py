"""The S3 file store (files/s3.py) on a real S3 API server (moto, on loopback).

Behaviour shared with the local store is in test_conformance.py; here, what is
particular to S3: the URL and settings, the object layout, multipart uploads.
"""

from __future__ import annotations

import pytest

from pyconvex.files.s3 import S3ConfigError, S3FileStore, parse_s3_url
from tests.files.moto_server import S3Bucket

MiB = 1 << 20


def test_s3_urls() -> None:
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    assert parse_s3_url("s3://bucket/") == ("bucket", "")
    assert parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b")
    for bad in ("s3://", "http://bucket/x", "bucket/x", "s3://b/x?versionId=1"):
        with pytest.raises(S3ConfigError):
            parse_s3_url(bad)


def test_objects_live_under_the_prefix(s3_bucket: S3Bucket) -> None:
    store = S3FileStore.from_url(s3_bucket.url("apps/chat"), s3_bucket.env)
    assert store.location == f"s3://{s3_bucket.name}/apps/chat"
    store.claim("owner-1")
    pending = store.begin("k1")
    pending.write(b"hello")
    pending.finish()
    store.place(pending)
    assert s3_bucket.objects() == ["apps/chat/.owner", "apps/chat/k1"]
    body = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key="apps/chat/k1")["Body"]
    assert body.read() == b"hello"


def test_only_file_keys_directly_under_the_prefix_are_listed(s3_bucket: S3Bucket) -> None:
    for key in ("p/k1", "p/nested/k2", "p/.hidden", "other/k3", "k4"):
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=key, Body=b"x")
    assert list(S3FileStore.from_url(s3_bucket.url("p"), s3_bucket.env).keys()) == ["k1"]
    whole_bucket = S3FileStore.from_url(f"s3://{s3_bucket.name}", s3_bucket.env)
    assert sorted(whole_bucket.keys()) == ["k4"]
    assert whole_bucket.object_key("k4") == "k4"


def test_large_files_go_up_in_parts_small_ones_in_one_request(s3_bucket: S3Bucket) -> None:
    store = S3FileStore.from_url(s3_bucket.url("p"), s3_bucket.env)
    store.part_bytes = 5 * MiB
    small = store.begin("small")
    small.write(b"x" * (5 * MiB - 1))
    assert s3_bucket.unfinished_uploads() == []  # nothing sent yet
    small.finish()
    large = store.begin("large")
    large.write(b"y" * (5 * MiB))
    assert s3_bucket.unfinished_uploads() == ["p/large"]  # the first part is up
    large.write(b"z")
    assert large.finish()[0] == 5 * MiB + 1
    assert s3_bucket.unfinished_uploads() == []
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key="p/large")
    assert head["ContentLength"] == 5 * MiB + 1 and "-2" in head["ETag"]  # two parts


def test_parts_grow_so_huge_files_fit_in_10000_parts() -> None:
    class Store:  # only what a pending upload reads to size its parts
        part_bytes = 8 * MiB
        bucket = "b"

        def object_key(self, key: str) -> str:
            return key

    from pyconvex.files.s3 import _PendingS3File

    pending = _PendingS3File(Store(), "k")  # type: ignore[arg-type]
    sizes = []
    for parts in (0, 999, 1000, 5000, 9999):
        pending._parts = [{"ETag": "e", "PartNumber": n + 1} for n in range(parts)]
        sizes.append(pending._part_bytes() // MiB)
    assert sizes == [8, 8, 16, 48, 80]  # 10,000 parts hold 440 GiB


def test_settings_are_checked(s3_bucket: S3Bucket) -> None:
    with pytest.raises(S3ConfigError, match="Cannot use s3://no-such-bucket/p: NoSuchBucket"):
        S3FileStore.from_url("s3://no-such-bucket/p", s3_bucket.env)
    half_credentials = {**s3_bucket.env, "PYCONVEX_S3_SECRET_ACCESS_KEY": ""}
    with pytest.raises(S3ConfigError, match="PYCONVEX_S3_ACCESS_KEY_ID and"):
        S3FileStore.from_url(s3_bucket.url(), half_credentials)
    with pytest.raises(S3ConfigError, match="path, virtual or auto"):
        S3FileStore.from_url(
            s3_bucket.url(), {**s3_bucket.env, "PYCONVEX_S3_ADDRESSING_STYLE": "sideways"}
        )
    with pytest.raises(S3ConfigError, match="at least 5 MiB"):
        S3FileStore(s3_bucket.name, part_bytes=MiB)
