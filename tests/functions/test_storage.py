"""Upload tokens and file URLs (functions/storage.py)."""

from __future__ import annotations

import pytest

from pyconvex.database.database import Database
from pyconvex.files.local import LocalFileStore
from pyconvex.functions import storage as storage_module
from pyconvex.functions.storage import FileService, StorageTokenError
from pyconvex.storage.memory import MemoryPersistence


@pytest.fixture
def service(tmp_path) -> FileService:  # type: ignore[no-untyped-def]
    return FileService(
        Database(MemoryPersistence()), LocalFileStore(tmp_path), b"k" * 32, "http://h:1/"
    )


def test_tokens_are_signed_and_expire(
    service: FileService, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = service.upload_url()
    assert url.startswith("http://h:1/api/storage/upload?token=")
    token = url.split("token=")[1]
    assert len(service.check_token(token)) == 16
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (tampered, "", "!!!"):
        with pytest.raises(StorageTokenError) as caught:
            service.check_token(bad)
        assert caught.value.code == "StorageTokenInvalid"
    other = FileService(service.database, service.store, b"x" * 32, "http://h:1")
    with pytest.raises(StorageTokenError):
        other.check_token(token)  # another deployment's secret
    monkeypatch.setattr(storage_module, "UPLOAD_URL_SECONDS", -1)
    expired = service.upload_url().split("token=")[1]
    with pytest.raises(StorageTokenError) as caught:
        service.check_token(expired)
    assert caught.value.code == "StorageTokenExpired"


def test_a_token_is_used_up_by_its_first_upload(service: FileService) -> None:
    nonce = service.check_token(service.upload_url().split("token=")[1])
    first = service.store_file([b"a"], "text/plain", nonce=nonce)
    assert service.url(first) == f"http://h:1/api/storage/{first}"
    with pytest.raises(StorageTokenError, match="already used"):
        service.store_file([b"b"], None, nonce=nonce)
    assert sorted(service.store.keys()) == [first]  # the refused bytes were dropped
