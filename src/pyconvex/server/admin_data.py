"""Admin endpoints for snapshot export and import (what ``pyconvex export``/``import`` call).

``GET /api/admin/export``
    Streams a snapshot ZIP of every user table (see :mod:`pyconvex.database.snapshot`),
    read at one timestamp, announced before the body in the ``Convex-Snapshot-Ts``
    header and in the file name of ``Content-Disposition``
    (``snapshot_<ts>.zip``, as Convex names it). The ZIP is written by a
    thread while it is sent, with backpressure: no more than a few chunks are
    ever buffered, whatever the size of the tables. A failure after the headers
    were sent aborts the transfer, so the client never mistakes a partial ZIP
    for a whole one.

``POST /api/admin/import?format=&table=&mode=``
    The body is the file. ``format`` is ``zip`` (the default when the body is a
    ZIP), ``jsonLines``, ``jsonArray`` or ``csv``; ``table`` is required for the
    single-table formats; ``mode`` is ``requireEmpty`` (default), ``replace`` or
    ``append``. Answers ``{"tables": {name: documents imported}}``; an invalid
    file or a refused import is a 400 with Convex's ``{"code", "message"}``.

Both require the deployment's admin key (401 without one, 403 with a wrong one).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pyconvex.application import Backend
from pyconvex.database.snapshot import (
    SnapshotImportError,
    export_snapshot,
    import_file,
    parse_format,
    parse_mode,
)
from pyconvex.errors import PyConvexError
from pyconvex.server.admin import require_admin
from pyconvex.server.errors import RequestError

__all__ = ["SNAPSHOT_TS_HEADER", "routes"]

#: Response header of an export: the snapshot's timestamp (nanoseconds).
SNAPSHOT_TS_HEADER: Final = "Convex-Snapshot-Ts"

# Export chunks: sent once this many bytes are buffered; at most _MAX_CHUNKS
# wait for the client at once (the writer thread blocks beyond that).
_CHUNK_BYTES: Final = 256 * 1024
_MAX_CHUNKS: Final = 8
# A writer blocked this long by a client that reads nothing gives up.
_STALL_SECONDS: Final = 300.0
# An uploaded file stays in memory up to this size, then spills to disk.
_SPOOL_BYTES: Final = 16 << 20
_ZIP_MAGIC: Final = b"PK\x03\x04"


def routes(backend: Backend) -> list[Route]:
    """The snapshot export and import routes for ``backend``."""
    endpoints = _DataEndpoints(backend)
    return [
        Route("/api/admin/export", endpoints.export, methods=["GET"]),
        Route("/api/admin/import", endpoints.import_, methods=["POST"]),
    ]


class _DataEndpoints:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def export(self, request: Request) -> Response:
        try:
            require_admin(request, self.backend)
        except RequestError as error:
            return error.response()
        database = self.backend.database
        state = database.state  # the snapshot, fixed before anything is sent
        pipe = _ChunkPipe(asyncio.get_running_loop())

        def write() -> None:
            try:
                export_snapshot(database, pipe, at=state)
            except _Cancelled:
                return  # the client went away
            except BaseException as error:  # reported to the client by aborting
                pipe.finish(error)
                return
            pipe.finish(None)

        threading.Thread(target=write, name="pyconvex-export", daemon=True).start()
        headers = {
            "Content-Disposition": f"attachment; filename=snapshot_{state.ts}.zip",
            SNAPSHOT_TS_HEADER: str(state.ts),
        }
        return StreamingResponse(pipe.chunks(), media_type="application/zip", headers=headers)

    async def import_(self, request: Request) -> Response:
        try:
            require_admin(request, self.backend)
            params = request.query_params
            mode = parse_mode(params.get("mode") or "requireEmpty")
            table = params.get("table") or None
            named_format = params.get("format") or None
            spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
        except RequestError as error:
            return error.response()
        except SnapshotImportError as error:
            return _refused(error)
        with spool:
            async for chunk in request.stream():
                spool.write(chunk)
            spool.seek(0)
            try:
                if named_format is not None:
                    file_format = parse_format(named_format)
                elif spool.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC:
                    file_format = "zip"
                else:
                    raise SnapshotImportError(
                        "InvalidFormat",
                        "The format parameter is required for a file that is not a ZIP: "
                        "jsonLines, jsonArray or csv",
                    )
                spool.seek(0)
                counts = await asyncio.to_thread(
                    import_file,
                    self.backend.database,
                    spool,
                    format=file_format,
                    table=table,
                    mode=mode,
                )
            except SnapshotImportError as error:
                return _refused(error)
            except PyConvexError as error:
                return JSONResponse({"code": error.short, "message": error.message}, 400)
            except Exception as error:  # a bug or a storage failure
                message = f"The import failed: {type(error).__name__}: {error}"
                return JSONResponse({"code": "InternalServerError", "message": message}, 500)
        return JSONResponse({"tables": counts})


def _refused(error: SnapshotImportError) -> JSONResponse:
    return JSONResponse({"code": error.code, "message": error.message}, status_code=400)


class _Cancelled(Exception):
    """The export's client disconnected: stop writing."""


class _ChunkPipe:
    """A write-only binary file on the writer thread; an async chunk stream on the loop.

    ``zipfile`` writes into it (it needs only ``write`` and ``flush``); whole
    chunks go through a bounded queue, so a slow client slows the writer
    instead of the chunks piling up in memory.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._buffer = bytearray()
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(_MAX_CHUNKS)
        self._cancelled = threading.Event()

    # -- the writer thread -------------------------------------------------

    def write(self, data: bytes) -> int:
        """Buffer ``data``; send a chunk once enough is buffered (may block)."""
        self._buffer += data
        if len(self._buffer) >= _CHUNK_BYTES:
            self._put(bytes(self._buffer))
            self._buffer.clear()
        return len(data)

    def flush(self) -> None:
        """Nothing to do: chunks are sent by size (and by :meth:`finish`)."""

    def close(self) -> None:
        """Nothing to do: the export never closes its output (see :meth:`finish`)."""

    def finish(self, error: BaseException | None) -> None:
        """End the stream: after the buffered bytes if ``error`` is None, else abort."""
        with contextlib.suppress(_Cancelled):
            if error is None and self._buffer:
                self._put(bytes(self._buffer))
            self._put(error)

    def _put(self, item: bytes | BaseException | None) -> None:
        # Gives up when the client went away, the server stopped, or nobody has
        # taken a chunk for a long time (a response that never started streaming).
        deadline = time.monotonic() + _STALL_SECONDS
        while True:
            if self._cancelled.is_set() or self._loop.is_closed():
                raise _Cancelled
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                if time.monotonic() > deadline:
                    self._cancelled.set()
                    raise _Cancelled from None

    # -- the event loop ------------------------------------------------------

    async def chunks(self) -> AsyncIterator[bytes]:
        """The ZIP's bytes, chunk by chunk; raises if the export failed."""
        try:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = await self._loop.run_in_executor(None, self._get)
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._cancelled.set()

    def _get(self) -> bytes | BaseException | None:
        # Runs in the loop's executor; waits in slices so a stopped loop frees it.
        while True:
            try:
                return self._queue.get(timeout=0.5)
            except queue.Empty:
                if self._cancelled.is_set() or self._loop.is_closed():
                    return None
