"""Asynchronous interrupts of a thread, deferred while it is inside a shielded call.

The executor stops runaway handlers by raising an exception inside their
thread (``PyThreadState_SetAsyncExc``): a time limit's
``ExecutionInterrupted``, or ``Preempted`` for one holding its event loop too
long. Such an exception lands between any two bytecodes. Inside a database
driver written in Python (psycopg: the wire protocol, the connection pool's
locks) that would leave a connection half-way through a command or a pool in an
inconsistent state. So storage wraps each call into such code in
:func:`shielded`: an interrupt aimed at a thread inside a shield is held back
and raised, as an ordinary exception, when the shield is left; an interrupt
raised just before the shield was entered, not yet delivered, is taken back
and raised at the entrance instead, before anything was sent.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["cancel", "interrupt", "shielded"]

_lock = threading.Lock()
_shield_depth: dict[int, int] = {}
# Per thread: an interrupt raised asynchronously and not cancelled since (it
# may or may not have been delivered), or one held back by a shield.
_raised: dict[int, type[BaseException]] = {}
_held: dict[int, type[BaseException]] = {}


def _set_async_exc(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), None if exception is None else ctypes.py_object(exception)
    )


def interrupt(thread_id: int, exception: type[BaseException]) -> None:
    """Raise ``exception`` in thread ``thread_id`` now, or when it leaves its shield.

    The caller must :func:`cancel` once the interrupted work has ended (as the
    executor does when an execution finishes): until then, every shield the
    thread enters raises it again, so that code which swallowed it cannot
    carry on into the database.
    """
    with _lock:
        if _shield_depth.get(thread_id):
            _held[thread_id] = exception
        else:
            _raised[thread_id] = exception
            _set_async_exc(thread_id, exception)


def cancel(thread_id: int) -> None:
    """Take back an interrupt of ``thread_id`` that was not delivered yet (if any)."""
    with _lock:
        _held.pop(thread_id, None)
        if _raised.pop(thread_id, None) is not None:
            _set_async_exc(thread_id, None)


@contextmanager
def shielded() -> Iterator[None]:
    """Hold back interrupts of the calling thread until the block is left.

    Raises:
        BaseException: the interrupt that was pending at the entrance or
            arrived during the block (raised at the entrance, or on leaving).
    """
    thread_id = threading.get_ident()
    with _lock:
        pending = _raised.pop(thread_id, None)
        if pending is not None:
            _set_async_exc(thread_id, None)  # not delivered yet: deliver it here instead
        else:
            _shield_depth[thread_id] = _shield_depth.get(thread_id, 0) + 1
    if pending is not None:
        raise pending
    try:
        yield
    finally:
        with _lock:
            depth = _shield_depth[thread_id] - 1
            if depth:
                _shield_depth[thread_id] = depth
                held = None
            else:
                del _shield_depth[thread_id]
                held = _held.pop(thread_id, None)
        if held is not None:
            raise held
