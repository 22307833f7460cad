"""File upload and serving routes (protocol.md section 7).

* ``POST /api/storage/upload?token=...``: the body is the file (any size,
  streamed to disk); answers ``{"storageId": ...}``. A garbage or reused token is
  401 ``StorageTokenInvalid``, an expired one 401 ``StorageTokenExpired``, a
  ``Digest: sha-256=...`` that does not match 400. An interrupted upload stores
  nothing and does not use up its token.
* ``GET /api/storage/{id}``: the bytes with their ``Content-Type``,
  ``Content-Length``, ``ETag``, ``Digest``, ``Cache-Control: private,
  max-age=2592000`` and single-range support; 404 ``FileNotFound`` once deleted.
"""

from __future__ import annotations

import asyncio
import base64

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from pyconvex.application import Backend
from pyconvex.functions.storage import StorageTokenError
from pyconvex.server.errors import RequestError

__all__ = ["MAX_UPLOAD_BYTES", "routes"]

#: Largest accepted upload (Convex accepts any size; this guards the disk).
MAX_UPLOAD_BYTES = 10 << 30


def routes(backend: Backend) -> list[Route]:
    """The file routes of ``backend``."""

    async def upload(request: Request) -> Response:
        try:
            storage_id = await _receive(backend, request)
        except RequestError as error:
            return error.response()
        return JSONResponse({"storageId": storage_id})

    async def serve(request: Request) -> Response:
        storage_id = request.path_params["storage_id"]
        service = backend.files
        row = service.row(backend.database.begin(writable=False), storage_id)
        path = service.store.path(storage_id) if row else None
        if row is None or path is None:
            return JSONResponse(
                {"code": "FileNotFound", "message": f"File {storage_id} not found"},
                status_code=404,
            )
        sha256 = str(row["sha256"])
        return FileResponse(
            path,
            media_type=str(row.get("contentType") or "application/octet-stream"),
            headers={
                "ETag": f'"{sha256}"',
                "Digest": f"sha-256={sha256}",
                "Cache-Control": "private, max-age=2592000",
            },
        )

    return [
        Route("/api/storage/upload", upload, methods=["POST"]),
        Route("/api/storage/{storage_id}", serve, methods=["GET", "HEAD"]),
    ]


async def _receive(backend: Backend, request: Request) -> str:
    service = backend.files
    try:
        nonce = service.check_token(request.query_params.get("token", ""))
    except StorageTokenError as error:
        raise RequestError(401, error.code, error.message) from None
    pending = service.store.begin()
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise RequestError(413, "PayloadTooLarge", "The file is too large.")
            pending.write(chunk)
        size, digest = await asyncio.to_thread(pending.finish)
    except ClientDisconnect:
        pending.abort()  # interrupted: nothing stored, the token stays usable
        raise RequestError(400, "UploadInterrupted", "The upload was interrupted.") from None
    except BaseException:
        pending.abort()
        raise
    expected = request.headers.get("digest", "")
    if expected.lower().startswith("sha-256="):
        if expected[8:] != base64.b64encode(digest).decode():
            pending.abort()
            raise RequestError(400, "DigestMismatch", "The file does not match its Digest header.")
    content_type = request.headers.get("content-type") or None
    try:
        return await asyncio.to_thread(
            service.commit_file, pending, size, digest, content_type, nonce
        )
    except StorageTokenError as error:
        raise RequestError(401, error.code, error.message) from None
