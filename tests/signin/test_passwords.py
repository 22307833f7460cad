"""Password hashes (signin/passwords.py): argon2id, salted, checked in constant effort."""

from __future__ import annotations

from pyconvex.signin.passwords import check_password, hash_password, needs_rehash


def test_hashes_are_argon2id_salted_and_check() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$") and first != second
    assert check_password(first, "correct horse") and check_password(second, "correct horse")
    assert not check_password(first, "Correct horse")
    assert not needs_rehash(first)


def test_no_account_and_garbage_never_match() -> None:
    assert not check_password(None, "pyconvex: no such account")
    assert not check_password("not a hash", "anything")
