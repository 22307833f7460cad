"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106's recommendation)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["check_password", "hash_password", "needs_rehash"]

_hasher = PasswordHasher()  # argon2id
# Checked when an email has no account, so a wrong email costs as much time as a
# wrong password and the two cannot be told apart.
_DUMMY = _hasher.hash("pyconvex: no such account")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; slow on purpose: run it off the event loop)."""
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (a hash; None: no account, always False)."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)
