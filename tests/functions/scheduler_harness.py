"""A deployment on a manual clock, for the scheduler and job runner tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from pyconvex.application import Backend
from pyconvex.clock import ManualClock
from pyconvex.database.database import Database
from pyconvex.functions.cron import Crons
from pyconvex.functions.registry import FunctionDefinition, FunctionKind, Registry
from pyconvex.storage.base import Persistence
from pyconvex.storage.memory import MemoryPersistence

__all__ = ["START_MS", "Deployment"]

#: 2024-01-01T00:00:00Z, a Monday.
START_MS = datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000


class Deployment:
    """A real backend (database, executor, job runner) whose time moves only when told."""

    def __init__(
        self,
        modules: dict[str, ModuleType],
        *,
        crons: Crons | None = None,
        persistence: Persistence | None = None,
        clock: ManualClock | None = None,
    ) -> None:
        self.clock = clock or ManualClock(start_ns=int(START_MS * 1_000_000))
        self.persistence = persistence or MemoryPersistence()
        self.backend = Backend(
            self.persistence,
            Registry.from_modules(modules),
            database=Database(self.persistence, clock=self.clock),
            crons=crons,
        )
        self.executor = self.backend.executor
        self.scheduler = self.backend.scheduler

    @property
    def now_ms(self) -> float:
        return self.clock.now_ns() / 1e6

    async def mutation(self, path: str, args: dict[str, Any] | None = None) -> Any:
        return (await self.executor.run_mutation(path, args, allow_internal=True)).value

    async def query(self, path: str, args: dict[str, Any] | None = None) -> Any:
        return (await self.executor.run_query(path, args, allow_internal=True)).value

    async def action(self, path: str, args: dict[str, Any] | None = None) -> Any:
        return (await self.executor.run_action(path, args, allow_internal=True)).value

    async def advance(self, seconds: float) -> None:
        """Move the clock, then wait until every job that became due has finished."""
        self.clock.advance(seconds)
        await self.scheduler.idle()

    def add(self, path: str, kind: FunctionKind, handler: Callable[..., Any]) -> None:
        """Register one more (internal) function."""
        self.executor.registry.add(path, FunctionDefinition(kind, handler, internal=True))

    def close(self) -> None:
        self.backend.close()
