"""The ASGI app's composition (server/app.py)."""

from __future__ import annotations

from pyconvex.application import Backend
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence


def test_every_surface_is_mounted() -> None:
    backend = Backend(MemoryPersistence(), Registry())
    try:
        app = create_app(backend)
        paths = {getattr(route, "path", "") for route in app.routes}
        for path in (
            "/api/query",
            "/api/mutation",
            "/api/action",
            "/api/sync",
            "/api/{version}/sync",
            "/api/admin/env",
            "/api/admin/logs",
            "/api/admin/export",
            "/api/admin/push",
            "/api/storage/upload",
            "/api/storage/{storage_id}",
        ):
            assert path in paths, path
        assert app.state.sync_hub.backend is backend
    finally:
        backend.close()
