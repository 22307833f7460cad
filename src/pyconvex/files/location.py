"""Choosing a file store from one setting: a local directory or ``s3://bucket/prefix``.

``pyconvex dev --files LOCATION`` (or ``PYCONVEX_FILES``) names where a
deployment keeps its files:

* a directory path (or ``file:///path``): :class:`~pyconvex.files.local.LocalFileStore`;
* ``s3://bucket/prefix``: :class:`~pyconvex.files.s3.S3FileStore`, configured by
  the ``PYCONVEX_S3_*`` environment variables (endpoint, region, credentials);
  it needs boto3 (``pip install 'pyconvex[s3]'``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pyconvex.files.base import FileStore, FileStoreError
from pyconvex.files.local import LocalFileStore

__all__ = ["FILES_ENV", "FileLocationError", "open_file_store"]

#: The environment variable ``pyconvex dev`` reads for ``--files``.
FILES_ENV = "PYCONVEX_FILES"


class FileLocationError(FileStoreError):
    """A file-store location that cannot be used."""


def open_file_store(location: str | Path, environ: Mapping[str, str] | None = None) -> FileStore:
    """The file store at ``location`` (a directory, ``file://`` URL or ``s3://`` URL).

    Raises:
        FileLocationError: an unknown scheme, or S3 without boto3 installed.
        S3ConfigError: the S3 bucket cannot be used (see :mod:`pyconvex.files.s3`).
    """
    text = str(location)
    scheme = urlsplit(text).scheme if "://" in text else ""
    if scheme == "s3":
        try:
            from pyconvex.files.s3 import S3FileStore
        except ImportError:
            raise FileLocationError(
                f"Storing files in {text} needs boto3: pip install 'pyconvex[s3]'"
            ) from None
        return S3FileStore.from_url(text, os.environ if environ is None else environ)
    if scheme == "file":
        return LocalFileStore(unquote(urlsplit(text).path))
    if scheme:
        raise FileLocationError(
            f"Unknown file storage {text!r}: use a directory or s3://BUCKET/PREFIX"
        )
    return LocalFileStore(Path(text).expanduser())
