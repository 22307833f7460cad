"""Code pushes: ``POST /api/admin/push`` swaps in a new functions folder atomically.

The body is a zip of a functions folder (what ``pyconvex deploy`` sends). The
server unpacks it into a new versioned directory, ``<data>/code/<n>/convex``,
and loads it with :meth:`Backend.reload`: imports, function definitions and the
schema (against the existing data) are all checked before anything changes. On
any error it answers 400 with the error's text and the old code keeps serving;
on success ``{"functions": <count>, "version": <n>}``. Admin only.

Archives are checked before anything is written: no absolute paths, no ``..``,
no links, bounded size and file count.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import stat
import tempfile
import traceback
import zipfile
from pathlib import Path, PurePosixPath

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pyconvex.application import Backend, default_data_path
from pyconvex.errors import PyConvexError
from pyconvex.server.admin import require_admin
from pyconvex.server.errors import RequestError

__all__ = [
    "MAX_ARCHIVE_BYTES",
    "MAX_FILES",
    "MAX_UNPACKED_BYTES",
    "describe_load_error",
    "routes",
]

MAX_ARCHIVE_BYTES = 32 * 1024 * 1024
MAX_UNPACKED_BYTES = 128 * 1024 * 1024
MAX_FILES = 5000
# Older versions are deleted after a successful push; a few are kept because
# modules already loaded may still import lazily from their folder.
_KEEP_VERSIONS = 5


def routes(backend: Backend, *, code_root: Path | None = None) -> list[Route]:
    """The code-push route for ``backend``.

    Args:
        code_root: where versions are unpacked [default: ``code/`` in the
            deployment's data folder, or a temporary folder for an in-memory one].
    """
    pusher = _Pusher(backend, code_root or _default_code_root(backend))
    return [Route("/api/admin/push", pusher.push, methods=["POST"])]


def describe_load_error(error: BaseException, folder: Path) -> str:
    """An app-loading error as one or two lines: the error, and where in the app it arose.

    ``folder`` is the functions folder; locations are shown relative to its parent
    (``convex/messages.py:12``).
    """
    base = folder.resolve().parent
    if isinstance(error, PyConvexError):
        text = f"{type(error).__name__}: {error.message}"
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    location = None
    if isinstance(error, SyntaxError) and error.filename:
        location = (error.filename, error.lineno)
        text = f"{type(error).__name__}: {error.msg}"
    else:
        # The innermost frame in the app's own files is the line to fix.
        for frame in reversed(traceback.extract_tb(error.__traceback__)):
            if _is_inside(Path(frame.filename), folder):
                location = (frame.filename, frame.lineno)
                break
    if location is None:
        return text
    filename, line = location
    shown = Path(filename).resolve()
    relative = shown.relative_to(base) if _is_inside(shown, base) else shown
    return f"{text} (at {relative}:{line})"


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _default_code_root(backend: Backend) -> Path:
    # A deployment that knows its data folder keeps code there; otherwise the
    # folder the app was loaded from decides (its ``.pyconvex/`` sibling), and an
    # app without one (tests) gets a temporary folder.
    data_dir = getattr(backend, "data_dir", None)
    if isinstance(data_dir, Path):
        return data_dir / "code"
    if backend.functions_dir is not None:
        return default_data_path(backend.functions_dir).parent / "code"
    return Path(tempfile.mkdtemp(prefix="pyconvex-code-"))


class _Pusher:
    def __init__(self, backend: Backend, code_root: Path) -> None:
        self.backend = backend
        self.code_root = code_root

    async def push(self, request: Request) -> Response:
        try:
            require_admin(request, self.backend)
            archive = await _read_limited(request)
            version, folder = await asyncio.to_thread(self._unpack, archive)
        except RequestError as error:
            return error.response()
        try:
            # Loading imports app code and may re-check every document against a
            # new schema: a worker thread, so requests keep being served meanwhile.
            app = await asyncio.to_thread(self.backend.reload, folder)
        except Exception as error:
            shutil.rmtree(folder.parent, ignore_errors=True)
            return RequestError(
                400,
                "InvalidModules",
                "The pushed code was not deployed (the previous code keeps serving): "
                + describe_load_error(error, folder),
            ).response()
        await asyncio.to_thread(self._prune, version)
        return JSONResponse({"functions": len(app.registry), "version": version})

    def _unpack(self, archive: bytes) -> tuple[int, Path]:
        try:
            bundle = zipfile.ZipFile(io.BytesIO(archive))
        except zipfile.BadZipFile:
            raise RequestError(400, "BadPush", "The body is not a zip archive") from None
        with bundle:
            members = _checked_members(bundle)
            version, folder = self._new_version()
            try:
                for info, relative in members:
                    target = folder.joinpath(*relative.parts)
                    if info.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with bundle.open(info) as source, open(target, "wb") as sink:
                        shutil.copyfileobj(source, sink)
            except (OSError, zipfile.BadZipFile, ValueError) as error:
                shutil.rmtree(folder.parent, ignore_errors=True)
                raise RequestError(400, "BadPush", f"Could not unpack the code: {error}") from None
        return version, folder

    def _new_version(self) -> tuple[int, Path]:
        self.code_root.mkdir(parents=True, exist_ok=True)
        version = max(self._versions(), default=0) + 1
        while True:
            try:
                # mkdir without exist_ok claims the number even against a
                # concurrent push.
                (self.code_root / str(version)).mkdir()
            except FileExistsError:
                version += 1
                continue
            folder = self.code_root / str(version) / "convex"
            folder.mkdir()
            return version, folder

    def _versions(self) -> list[int]:
        if not self.code_root.is_dir():
            return []
        return sorted(int(p.name) for p in self.code_root.iterdir() if p.name.isdigit())

    def _prune(self, current: int) -> None:
        old = [n for n in self._versions() if n < current]
        for number in old[: max(0, len(old) - (_KEEP_VERSIONS - 1))]:
            shutil.rmtree(self.code_root / str(number), ignore_errors=True)


def _checked_members(bundle: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    members = bundle.infolist()
    if len(members) > MAX_FILES:
        raise RequestError(400, "BadPush", f"The code has more than {MAX_FILES} files")
    if sum(info.file_size for info in members) > MAX_UNPACKED_BYTES:
        raise RequestError(
            400, "BadPush", f"The code unpacks to more than {MAX_UNPACKED_BYTES} bytes"
        )
    checked = []
    for info in members:
        relative = PurePosixPath(info.filename.replace("\\", "/"))
        unsafe = relative.is_absolute() or ".." in relative.parts or ":" in info.filename
        if unsafe or not relative.parts:
            raise RequestError(400, "BadPush", f"Unsafe path in the archive: {info.filename!r}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise RequestError(400, "BadPush", f"Links are not allowed: {info.filename!r}")
        checked.append((info, relative))
    return checked


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_ARCHIVE_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_ARCHIVE_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> RequestError:
    return RequestError(
        413, "BadPush", f"The code archive is larger than {MAX_ARCHIVE_BYTES} bytes"
    )
