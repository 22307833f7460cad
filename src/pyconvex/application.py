"""The composition root: one deployment's storage, database and functions.

:class:`Backend` wires a persistence, a :class:`~pyconvex.database.database.Database`
and an :class:`~pyconvex.functions.executor.Executor` for an app; the server and
the CLI use it, and it does nothing else.
"""

from __future__ import annotations

from pathlib import Path

from pyconvex.database.database import Database
from pyconvex.database.schema import Schema
from pyconvex.functions.executor import Executor
from pyconvex.functions.loader import load_app
from pyconvex.functions.registry import Registry
from pyconvex.storage.base import Persistence
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.storage.sqlite import SqlitePersistence

__all__ = ["Backend", "default_data_path"]


def default_data_path(app_dir: Path) -> Path:
    """Where an app's embedded database lives: ``.pyconvex/data.sqlite3`` beside ``convex/``."""
    return app_dir.resolve().parent / ".pyconvex" / "data.sqlite3"


class Backend:
    """A deployment: storage, database, schema and functions, ready to run.

    Args:
        persistence: the store the database lives in.
        registry: the app's functions.
        schema: the app's schema (None: no schema).
    """

    def __init__(
        self, persistence: Persistence, registry: Registry, schema: Schema | None = None
    ) -> None:
        self.persistence = persistence
        self.database = Database(persistence)
        self.database.apply_schema(schema)
        self.registry = registry
        self.executor = Executor(self.database, registry)

    @classmethod
    def open(cls, app_dir: str | Path, *, data_path: str | Path | None = None) -> Backend:
        """Load an app's ``convex/`` folder and open its SQLite database (``":memory:"`` for none).

        Raises:
            Exception: loading the app failed (the error of the failing module).
            SchemaError: existing data does not match the app's schema.
        """
        app = load_app(app_dir)
        if data_path == ":memory:":
            persistence: Persistence = MemoryPersistence()
        else:
            path = Path(data_path) if data_path else default_data_path(Path(app_dir))
            path.parent.mkdir(parents=True, exist_ok=True)
            persistence = SqlitePersistence(path)
        try:
            return cls(persistence, app.registry, app.schema)
        except BaseException:
            persistence.close()
            raise

    def close(self) -> None:
        """Stop the functions and the committer, and close the store."""
        self.executor.close()
        self.database.close()
        self.persistence.close()
