"""Determinism for queries and mutations, scoped to the running function.

Queries are cached and mutations re-run on conflicts, so inside them
(semantics.md 4.2):

* ``time.time()``, ``time.time_ns()``, ``datetime.now()``, ``datetime.utcnow()``,
  ``datetime.today()`` and ``date.today()`` return the transaction's start time;
* the ``random`` module's functions draw from a generator seeded per execution;
* OS randomness (``os.urandom``, ``secrets``, ``uuid.uuid4``, ``random.SystemRandom``)
  is made deterministic: bytes come from the same per-execution seed;
* network access raises :class:`~pyconvex.errors.NondeterminismError` with
  Convex's message.

The rules apply only while a query or mutation runs, through a context
variable, so an action running at the same moment in another thread or task
sees the real clock, real randomness and the network. :func:`install` patches
the standard library once; outside a function every patched call behaves
exactly as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _datetime
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyconvex.entropy  # noqa: F401  # captures the real os.urandom before install()
from pyconvex.errors import NondeterminismError

__all__ = [
    "ExecutionEnvironment",
    "deterministic",
    "enter",
    "install",
    "is_deterministic",
    "leave",
]

_NETWORK_MESSAGE = "Can't use fetch() in queries and mutations. Please consider using an action."


class ExecutionEnvironment:
    """What a query or mutation sees instead of the real clock and randomness."""

    __slots__ = ("now_ns", "_seed", "_rng")

    def __init__(self, now_ns: int, seed: int) -> None:
        self.now_ns = now_ns
        self._seed = seed
        self._rng: random.Random | None = None

    @property
    def rng(self) -> random.Random:
        """The execution's generator, seeded on first use (most functions never use it)."""
        if self._rng is None:
            self._rng = random.Random(self._seed)
        return self._rng


_current: contextvars.ContextVar[ExecutionEnvironment | None] = contextvars.ContextVar(
    "pyconvex_execution_environment", default=None
)
_install_lock = threading.Lock()
_installed = False

_real_time = time.time
_real_time_ns = time.time_ns
_real_urandom = os.urandom
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
_real_create_connection = socket.create_connection
_RealDatetime = _datetime.datetime
_RealDate = _datetime.date


def is_deterministic() -> bool:
    """Whether the current context is running a query or mutation."""
    return _current.get() is not None


@contextlib.contextmanager
def deterministic(now_ns: int, seed: int) -> Iterator[ExecutionEnvironment]:
    """Run the enclosed code as a query or mutation started at ``now_ns``."""
    environment = ExecutionEnvironment(now_ns, seed)
    token = _current.set(environment)
    try:
        yield environment
    finally:
        _current.reset(token)


def enter(now_ns: int, seed: int) -> contextvars.Token[ExecutionEnvironment | None]:
    """Start running as a query or mutation (the fast form of :func:`deterministic`)."""
    return _current.set(ExecutionEnvironment(now_ns, seed))


def leave(token: contextvars.Token[ExecutionEnvironment | None]) -> None:
    """Stop running as a query or mutation (undo :func:`enter`)."""
    _current.reset(token)


def _frozen_time() -> float:
    environment = _current.get()
    return _real_time() if environment is None else environment.now_ns / 1e9


def _frozen_time_ns() -> int:
    environment = _current.get()
    return _real_time_ns() if environment is None else environment.now_ns


def _urandom(size: int) -> bytes:
    environment = _current.get()
    if environment is None:
        return _real_urandom(size)
    return environment.rng.randbytes(size)


def _refuse_network(real: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _current.get() is not None:
            raise NondeterminismError(_NETWORK_MESSAGE)
        return real(*args, **kwargs)

    guarded.__name__ = getattr(real, "__name__", "guarded")
    guarded.__doc__ = real.__doc__
    return guarded


class _DatetimeMeta(type):
    # Datetimes made elsewhere (C code, other libraries) are real datetimes;
    # isinstance checks against the patched name must still accept them.
    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, _RealDatetime)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _RealDatetime)


class _DateMeta(type):
    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, _RealDate)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _RealDate)


class _Datetime(_RealDatetime, metaclass=_DatetimeMeta):
    """``datetime.datetime`` whose ``now``/``utcnow``/``today`` honour frozen time."""

    @classmethod
    def now(cls, tz: _datetime.tzinfo | None = None) -> Any:
        environment = _current.get()
        if environment is None:
            return super().now(tz)
        return cls.fromtimestamp(environment.now_ns / 1e9, tz)

    @classmethod
    def utcnow(cls) -> Any:
        environment = _current.get()
        if environment is None:
            return super().now(_datetime.UTC).replace(tzinfo=None)
        return cls.fromtimestamp(environment.now_ns / 1e9, _datetime.UTC).replace(tzinfo=None)

    @classmethod
    def today(cls) -> Any:
        return cls.now()


class _Date(_RealDate, metaclass=_DateMeta):
    """``datetime.date`` whose ``today`` honours frozen time."""

    @classmethod
    def today(cls) -> Any:
        environment = _current.get()
        if environment is None:
            return super().today()
        return cls.fromtimestamp(environment.now_ns / 1e9)


_RANDOM_FUNCTIONS = (
    "random",
    "uniform",
    "triangular",
    "randint",
    "choice",
    "randrange",
    "sample",
    "shuffle",
    "choices",
    "normalvariate",
    "lognormvariate",
    "expovariate",
    "vonmisesvariate",
    "gammavariate",
    "gauss",
    "betavariate",
    "paretovariate",
    "weibullvariate",
    "getrandbits",
    "randbytes",
)


def _seeded(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    def dispatch(*args: Any, **kwargs: Any) -> Any:
        environment = _current.get()
        if environment is None:
            return real(*args, **kwargs)
        return getattr(environment.rng, name)(*args, **kwargs)

    dispatch.__name__ = name
    dispatch.__doc__ = real.__doc__
    return dispatch


def install() -> None:
    """Patch the standard library once so the rules above can apply (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        time.time = _frozen_time
        time.time_ns = _frozen_time_ns
        os.urandom = _urandom
        random._urandom = _urandom  # type: ignore[attr-defined]  # used by SystemRandom
        for name in _RANDOM_FUNCTIONS:
            real = getattr(random, name, None)
            if real is not None:
                setattr(random, name, _seeded(name, real))
        socket.socket.connect = _refuse_network(_real_connect)  # type: ignore[method-assign]
        socket.socket.connect_ex = _refuse_network(_real_connect_ex)  # type: ignore[method-assign]
        socket.getaddrinfo = _refuse_network(_real_getaddrinfo)
        socket.create_connection = _refuse_network(_real_create_connection)
        _datetime.datetime = _Datetime  # type: ignore[misc]
        _datetime.date = _Date  # type: ignore[misc]
        _installed = True
