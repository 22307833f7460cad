"""Choosing a file store from a location (files/location.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyconvex.files.local import LocalFileStore
from pyconvex.files.location import FileLocationError, open_file_store
from pyconvex.files.s3 import S3FileStore
from tests.files.moto_server import S3Bucket


def test_directories_and_file_urls_are_local(tmp_path: Path) -> None:
    store = open_file_store(tmp_path / "a")
    assert isinstance(store, LocalFileStore) and store.root == tmp_path / "a"
    store = open_file_store(f"file://{tmp_path}/b%20c")
    assert isinstance(store, LocalFileStore) and store.root == tmp_path / "b c"


def test_s3_urls_use_the_s3_settings_of_the_environment(s3_bucket: S3Bucket) -> None:
    store = open_file_store(s3_bucket.url("deployments/dev"), s3_bucket.env)
    assert isinstance(store, S3FileStore)
    assert (store.bucket, store.prefix) == (s3_bucket.name, "deployments/dev")


def test_unknown_schemes_are_refused() -> None:
    with pytest.raises(FileLocationError, match="use a directory or s3://BUCKET/PREFIX"):
        open_file_store("gs://bucket/x")
