"""File upload and serving routes (protocol.md section 7).

* ``POST /api/storage/upload?token=...``: the body is the file, streamed to the
  file store as it arrives; answers ``{"storageId": ...}``. A garbage or reused
  token is 401 ``StorageTokenInvalid``, an expired one 401 ``StorageTokenExpired``,
  a ``Digest: sha-256=...`` that does not match 400 ``Sha256Mismatch``. A file over
  :data:`~pyconvex.knobs.FILE_UPLOAD_MAX_BYTES` is 413 ``FileTooLarge``, answered
  as soon as its ``Content-Length`` or its bytes pass the limit. A failed or
  interrupted upload stores nothing and does not use up its token.
* ``GET /api/storage/{id}``: the bytes, streamed from the store, with their
  ``Content-Type``, ``Content-Length``, ``ETag``, ``Digest``, ``Cache-Control:
  private, max-age=2592000`` and ``Accept-Ranges: bytes``. One range gives 206
  with ``Content-Range``; several, or one past the end, give 416 (Convex serves
  a single range only); an empty file ignores ranges. 404 ``FileNotFound`` once
  deleted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pyconvex.application import Backend
from pyconvex.files.base import FileReader
from pyconvex.functions.storage import StorageError
from pyconvex.server.errors import RequestError

__all__ = ["routes"]

#: Bytes read from the store per chunk of a response.
_SERVE_CHUNK_BYTES = 1 << 18
_STATUS = {
    "StorageTokenInvalid": 401,
    "StorageTokenExpired": 401,
    "FileTooLarge": 413,
    "Sha256Mismatch": 400,
}
_RANGE = re.compile(r"\s*(\d*)\s*-\s*(\d*)\s*")


def routes(backend: Backend) -> list[Route]:
    """The file routes of ``backend``."""

    async def upload(request: Request) -> Response:
        try:
            storage_id = await _receive(backend, request)
        except RequestError as error:
            return error.response()
        return JSONResponse({"storageId": storage_id})

    async def serve(request: Request) -> Response:
        return await _serve(backend, request)

    return [
        Route("/api/storage/upload", upload, methods=["POST"]),
        Route("/api/storage/{storage_id}", serve, methods=["GET", "HEAD"]),
    ]


async def _receive(backend: Backend, request: Request) -> str:
    service = backend.files
    try:
        nonce = service.check_token(request.query_params.get("token", ""))
        service.check_unused(nonce)
        declared = request.headers.get("content-length", "")
        if declared.isdigit():
            service.check_size(int(declared))  # refuse before reading a byte
        return await service.store_stream(
            request.stream(),
            request.headers.get("content-type") or None,
            sha256=_digest_header(request.headers.get("digest", "")),
            nonce=nonce,
        )
    except StorageError as error:
        raise RequestError(_STATUS.get(error.code, 400), error.code, error.message) from None
    except ClientDisconnect:  # interrupted: nothing stored, the token stays usable
        raise RequestError(400, "UploadInterrupted", "The upload was interrupted.") from None


def _digest_header(value: str) -> str | None:
    # ``Digest: sha-256=<base64>`` (RFC 3230); other algorithms are not checked.
    for part in value.split(","):
        algorithm, _, digest = part.strip().partition("=")
        if algorithm.lower() == "sha-256" and digest:
            return digest
    return None


async def _serve(backend: Backend, request: Request) -> Response:
    storage_id = request.path_params["storage_id"]
    service = backend.files
    row = service.latest_row(storage_id)
    if row is None:
        return _not_found(storage_id)
    size = int(row["size"])
    sha256 = str(row["sha256"])
    headers = {
        "ETag": f'"{sha256}"',
        "Digest": f"sha-256={sha256}",
        "Cache-Control": "private, max-age=2592000",
        "Accept-Ranges": "bytes",
    }
    media_type = str(row.get("contentType") or "application/octet-stream")
    start, stop, status = 0, size, 200
    header = request.headers.get("range")
    if header and size > 0:
        chosen = _single_range(header, size)
        if chosen is None:
            return Response(
                status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"}
            )
        start, stop, status = chosen[0], chosen[1], 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    headers["Content-Length"] = str(stop - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    try:
        reader = await asyncio.to_thread(service.open, storage_id, start, stop)
    except FileNotFoundError:  # deleted since the row was read
        return _not_found(storage_id)
    return StreamingResponse(
        _stream(reader), status_code=status, headers=headers, media_type=media_type
    )


def _not_found(storage_id: str) -> Response:
    return JSONResponse(
        {"code": "FileNotFound", "message": f"File {storage_id} not found"}, status_code=404
    )


def _single_range(header: str, size: int) -> tuple[int, int] | None:
    """``[start, stop)`` of a ``Range: bytes=...`` with one satisfiable range, else None."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _RANGE.fullmatch(spec)
    if match is None:
        return None
    first, last = match.groups()
    if not first:  # suffix range: the last N bytes
        if not last or int(last) == 0:
            return None
        return max(0, size - int(last)), size
    start = int(first)
    stop = size if not last else min(int(last) + 1, size)
    if start >= size or stop <= start:
        return None
    return start, stop


async def _stream(reader: FileReader) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(reader.read, _SERVE_CHUNK_BYTES):
            yield chunk
    finally:
        reader.close()
