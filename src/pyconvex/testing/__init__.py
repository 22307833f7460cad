"""An in-process test kit for pyconvex apps, like Convex's ``convex-test``.

::

    from pyconvex.testing import ConvexTest

    async def test_send():
        async with ConvexTest(schema, {"messages": messages}) as t:
            await t.mutation("messages:send", {"body": "hi"})
            assert len(await t.query("messages:list")) == 1

Functions run exactly as they do in the server: real transactions, real
validation, OCC, the determinism guard and worker threads, on the in-memory
store by default or on a SQLite file.

Scheduled functions run once a test asks for them, as in ``convex-test``::

    async with ConvexTest(schema, modules, clock=ManualClock()) as t:
        await t.mutation("messages:sendLater", {...})    # ctx.scheduler.run_after(5000, ...)
        t.clock.advance(5)
        await t.finish_scheduled_functions()            # what is due now has run
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

from pyconvex.clock import Clock
from pyconvex.database.database import Database
from pyconvex.database.schema import Schema
from pyconvex.functions import env as environment
from pyconvex.functions.executor import Executor
from pyconvex.functions.job_runner import JobRunner
from pyconvex.functions.loader import load_app
from pyconvex.functions.registry import FunctionDefinition, FunctionKind, Registry
from pyconvex.storage.base import Persistence
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.storage.postgres import PostgresPersistence
from pyconvex.storage.sqlite import SqlitePersistence

__all__ = ["ConvexTest"]

_run_ids = itertools.count(1)


class ConvexTest:
    """A database plus an app's functions, run in this process.

    Args:
        schema: the app's schema (None: no schema).
        modules: module path to module object (``{"messages": messages}``), or
            the path of a ``convex/`` folder to load (its schema is used when
            ``schema`` is None).
        sqlite_path: store in this SQLite file instead of in memory.
        database_url: store in this PostgreSQL database (``postgres://...``) instead.
        clock: inject a clock (for example a ``ManualClock``).
    """

    def __init__(
        self,
        schema: Schema | None = None,
        modules: Mapping[str, ModuleType | Any] | str | Path | None = None,
        *,
        sqlite_path: str | Path | None = None,
        database_url: str | None = None,
        clock: Clock | None = None,
        _shared: tuple[Database, Executor, Persistence] | None = None,
        _identity: dict[str, Any] | None = None,
        _root: ConvexTest | None = None,
    ) -> None:
        self.identity = _identity
        self._scheduler: JobRunner | None = None
        self._root = _root or self
        if _shared is not None:
            self.database, self.executor, self.persistence = _shared
            self.clock = self.database.clock
            self._owner = False
            return
        self.persistence = _open_store(sqlite_path, database_url)
        self.database = Database(self.persistence, clock=clock)
        # Module-level code (auth_config.py reading pyconvex.env) sees this deployment.
        environment.use_database(self.database)
        registry, schema = _registry(schema, modules)
        #: The clock the deployment reads (advance a ``ManualClock`` to make jobs due).
        self.clock = self.database.clock
        self.database.apply_schema(schema)
        self.executor = Executor(self.database, registry)
        self._owner = True

    def with_identity(self, claims: dict[str, Any]) -> ConvexTest:
        """A view of the same backend whose calls are made as the user ``claims`` describe."""
        return ConvexTest(
            _shared=(self.database, self.executor, self.persistence),
            _identity=claims,
            _root=self._root,
        )

    async def query(self, reference: Any, args: dict[str, Any] | None = None) -> Any:
        """Run a query (public or internal) and return its value."""
        result = await self.executor.run_query(
            reference, args, identity=self.identity, allow_internal=True
        )
        return result.value

    async def mutation(self, reference: Any, args: dict[str, Any] | None = None) -> Any:
        """Run a mutation (public or internal) and return its value."""
        result = await self.executor.run_mutation(
            reference, args, identity=self.identity, allow_internal=True
        )
        return result.value

    async def action(self, reference: Any, args: dict[str, Any] | None = None) -> Any:
        """Run an action (public or internal) and return its value."""
        result = await self.executor.run_action(
            reference, args, identity=self.identity, allow_internal=True
        )
        return result.value

    async def run(self, handler: Callable[[Any], Any]) -> Any:
        """Run ``handler(ctx)`` as a one-off mutation, for setting up or inspecting data."""
        path = f"_pyconvex_testing:run{next(_run_ids)}"
        definition = FunctionDefinition(FunctionKind.MUTATION, handler, internal=True)
        self.executor.registry.add(path, definition)
        result = await self.executor.run_mutation(
            path, {}, identity=self.identity, allow_internal=True
        )
        return result.value

    async def finish_scheduled_functions(self, timeout_seconds: float = 10.0) -> None:
        """Run the scheduled functions due now, and those they schedule for now, to the end.

        From the first call on, due jobs keep running in the background as in a
        deployment. Jobs scheduled later run once the clock reaches them.

        Raises:
            TimeoutError: jobs were still running or due after ``timeout_seconds``.
        """
        root = self._root
        if root._scheduler is None:
            root._scheduler = JobRunner(self.executor)
            root._scheduler.start()
        await root._scheduler.idle(timeout_seconds)

    def close(self) -> None:
        """Stop the executor and the database, and close the store."""
        if self._scheduler is not None:
            self._scheduler.stop()
        if not self._owner:
            return
        self.executor.close()
        environment.forget_database(self.database)
        self.database.close()
        self.persistence.close()

    async def __aenter__(self) -> ConvexTest:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _registry(
    schema: Schema | None, modules: Mapping[str, Any] | str | Path | None
) -> tuple[Registry, Schema | None]:
    if modules is None:
        return Registry(), schema
    if isinstance(modules, (str, Path)):
        app = load_app(modules)
        return app.registry, schema if schema is not None else app.schema
    return Registry.from_modules(modules), schema


def _open_store(sqlite_path: str | Path | None, database_url: str | None) -> Persistence:
    if database_url is not None:
        return PostgresPersistence(database_url)
    if sqlite_path is not None:
        return SqlitePersistence(sqlite_path)
    return MemoryPersistence()
