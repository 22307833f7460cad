"""Real randomness for document IDs and execution seeds, without a system call each.

Every mutation needs fresh random bytes (its documents' IDs, the seed of its
deterministic ``random``). ``os.urandom`` is a system call that releases the
GIL, and on a busy server getting the GIL back costs far more than the call
itself. :func:`token_bytes` hands out slices of a per-thread buffer filled by
``os.urandom`` (the kernel's CSPRNG) a few kilobytes at a time, so the bytes
are exactly as unpredictable, and each byte is handed out once.

A forked child must not repeat its parent's bytes: every buffer is discarded
in the child after a fork.

This module captures the real ``os.urandom`` at import, before the determinism
guard (which imports it) patches the function inside queries and mutations.
"""

from __future__ import annotations

import os
import threading

__all__ = ["token_bytes"]

_real_urandom = os.urandom
#: Bytes fetched from the OS per refill.
_CHUNK = 4096


class _Buffer(threading.local):
    def __init__(self) -> None:
        self.data = b""
        self.position = 0
        self.generation = -1


_buffer = _Buffer()
# Bumped in a forked child, so every thread's buffer is refilled there.
_generation = 0


def _after_fork_in_child() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


def token_bytes(size: int) -> bytes:
    """Return ``size`` bytes from the OS's cryptographic random source.

    Raises:
        ValueError: ``size`` is negative.
    """
    if size < 0:
        raise ValueError(f"negative size: {size}")
    if size > _CHUNK // 4:
        return _real_urandom(size)
    buffer = _buffer
    start = buffer.position
    end = start + size
    if end > len(buffer.data) or buffer.generation != _generation:
        buffer.data = _real_urandom(_CHUNK)
        buffer.generation = _generation
        start, end = 0, size
    buffer.position = end
    return buffer.data[start:end]
