"""``pyconvex export`` and ``pyconvex import``: snapshot ZIPs to and from a running deployment.

``pyconvex export --path FILE.zip`` downloads a snapshot ZIP of every table (taken at
one timestamp) from ``GET /api/admin/export``; ``--path`` may also be an existing
folder, where the file is named ``snapshot_<ts>.zip`` as Convex names it.

``pyconvex import FILE`` uploads a snapshot ZIP, or a JSON Lines (``.jsonl``), JSON
array (``.json``) or CSV (``.csv``) file into one ``--table``, to
``POST /api/admin/import``. Existing tables make the import fail unless
``--replace`` (replace their documents) or ``--append`` is given. Documents keep
their ``_id`` and ``_creationTime``.

Both talk to the project's dev deployment (``http://127.0.0.1:3210``) unless
``--url`` or ``--prod`` says otherwise, with the admin key from ``--admin-key``,
``PYCONVEX_ADMIN_KEY`` or the local key file ``.pyconvex/admin_key``, and show
progress bars on the terminal. Every failure is one line and a non-zero exit.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import click
import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from pyconvex.cli.config import find_config, resolve_target, target_options
from pyconvex.cli.main import main
from pyconvex.server.admin_data import SNAPSHOT_TS_HEADER

__all__ = ["export_command", "import_command"]

_EXPORT_PATH: Final = "/api/admin/export"
_IMPORT_PATH: Final = "/api/admin/import"
_CHUNK: Final = 1 << 20
_EXTENSIONS: Final = {".csv": "csv", ".jsonl": "jsonLines", ".json": "jsonArray", ".zip": "zip"}
_UTF8_BOM: Final = b"\xef\xbb\xbf"
# Connecting must be quick; a big import may take the server a while to answer.
_EXPORT_TIMEOUT: Final = httpx.Timeout(30.0, read=300.0)
_IMPORT_TIMEOUT: Final = httpx.Timeout(30.0, read=None)


@main.command("export")
@click.option(
    "--path",
    required=True,
    type=click.Path(path_type=Path),
    help="The ZIP file to write, or an existing folder to write snapshot_<ts>.zip in.",
)
@target_options
def export_command(path: Path, url: str | None, prod: bool, admin_key: str | None) -> None:
    """Export every table of a deployment to a snapshot ZIP."""
    target = resolve_target(find_config(), url=url, prod=prod, admin_key=admin_key)
    key = target.require_admin_key()
    if path.exists() and not path.is_dir():
        raise click.ClickException(f"Path {path} already exists.")
    if not path.exists() and not path.parent.is_dir():
        raise click.ClickException(f"Folder {path.parent} does not exist.")
    with (
        _progress() as progress,
        httpx.Client(timeout=_EXPORT_TIMEOUT) as http,
        _http_errors(target.url, "export"),
        http.stream("GET", target.url + _EXPORT_PATH, headers=_headers(key)) as response,
    ):
        if response.status_code != 200:
            response.read()
            raise _refusal(response, target.url, _EXPORT_PATH)
        ts = response.headers.get(SNAPSHOT_TS_HEADER, "unknown")
        destination = path / f"snapshot_{ts}.zip" if path.is_dir() else path
        if destination.exists():
            raise click.ClickException(f"Path {destination} already exists.")
        partial = destination.with_name(destination.name + ".part")
        task = progress.add_task(f"Downloading snapshot to {destination}", total=None)
        try:
            with partial.open("wb") as handle:
                for chunk in response.iter_bytes(_CHUNK):
                    handle.write(chunk)
                    progress.update(task, advance=len(chunk))
            _check_zip(partial, target.url)
            partial.replace(destination)
        finally:
            partial.unlink(missing_ok=True)
    size = destination.stat().st_size
    click.echo(f"✓ Exported a snapshot at timestamp {ts} to {destination} ({_size(size)})")


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--table",
    default=None,
    metavar="TABLE",
    help="Destination table (for csv, jsonLines, jsonArray).",
)
@click.option("--append", is_flag=True, default=False, help="Append to existing tables.")
@click.option(
    "--replace", is_flag=True, default=False, help="Replace the documents of existing tables."
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "jsonLines", "jsonArray", "zip"]),
    default=None,
    help="The file's format [default: from its extension].",
)
@target_options
def import_command(
    file: Path,
    table: str | None,
    append: bool,
    replace: bool,
    file_format: str | None,
    url: str | None,
    prod: bool,
    admin_key: str | None,
) -> None:
    """Import FILE: a snapshot ZIP, or a JSON Lines, JSON array or CSV file into --table."""
    if not file.is_file():
        raise click.ClickException(f"Path {file} does not exist.")
    if append and replace:
        raise click.ClickException("Use either --append or --replace, not both")
    chosen = _format(file, file_format)
    if table is None and chosen != "zip":
        raise click.ClickException(f"The `--table` option is required for format {chosen}")
    if table is not None and chosen == "zip":
        raise click.ClickException(f"The `--table` option is not allowed for format {chosen}")
    mode = "append" if append else "replace" if replace else "requireEmpty"
    target = resolve_target(find_config(), url=url, prod=prod, admin_key=admin_key)
    key = target.require_admin_key()
    params = {"format": chosen, "mode": mode, **({"table": table} if table else {})}
    size = file.stat().st_size
    with _progress() as progress, httpx.Client(timeout=_IMPORT_TIMEOUT) as http:
        upload = progress.add_task(f"Uploading {file}", total=size)

        def body() -> Iterator[bytes]:
            with file.open("rb") as handle:
                first = True
                while chunk := handle.read(_CHUNK):
                    progress.update(upload, advance=len(chunk))
                    if first and chosen != "zip" and chunk.startswith(_UTF8_BOM):
                        chunk = chunk[len(_UTF8_BOM) :]  # as Convex's CLI, drop a BOM
                    first = False
                    yield chunk
            progress.update(upload, visible=False)
            progress.add_task(f"Importing {file} into {target.url}", total=None, waiting=True)

        with _http_errors(target.url, "import"):
            response = http.post(
                target.url + _IMPORT_PATH, params=params, content=body(), headers=_headers(key)
            )
    if response.status_code != 200:
        error = _refusal(response, target.url, _IMPORT_PATH)
        raise click.ClickException(f"Importing {file} failed: {error.message}")
    counts = _counts(response, target.url)
    for name, count in counts.items():
        click.echo(f"✓ Added {count} documents to table {name}")
    total = sum(counts.values())
    click.echo(f"✓ Imported {total} documents from {file} into {target.url}")


# --------------------------------------------------------------------------- helpers


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Convex {key}", "Convex-Client": "pyconvex-cli"}


def _progress() -> Progress:
    # On stderr, and gone once done: the summary lines on stdout are what stays.
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        _Bytes(),
        _Speed(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


class _Bytes(DownloadColumn):
    """Bytes transferred; nothing for a task that only waits (the server importing)."""

    def render(self, task: Task) -> Text:
        return Text("") if task.fields.get("waiting") else super().render(task)


class _Speed(TransferSpeedColumn):
    """Transfer speed; nothing for a task that only waits."""

    def render(self, task: Task) -> Text:
        return Text("") if task.fields.get("waiting") else super().render(task)


def _format(file: Path, given: str | None) -> str:
    from_extension = _EXTENSIONS.get(file.suffix.lower())
    if given is not None:
        if from_extension is not None and from_extension != given:
            click.echo(
                f"Warning: the extension of {file} ({file.suffix}) does not match "
                f"the format {given}",
                err=True,
            )
        return given
    if from_extension is None:
        raise click.ClickException(
            f"No format inferred from the extension of {file}: "
            "pass --format csv, jsonLines, jsonArray or zip"
        )
    return from_extension


@contextmanager
def _http_errors(url: str, what: str) -> Iterator[None]:
    """Turn transport failures into one line each."""
    try:
        yield
    except httpx.ConnectError:
        raise click.ClickException(
            f"Cannot reach the deployment at {url} (connection refused): "
            "is `pyconvex dev` running there?"
        ) from None
    except httpx.TimeoutException:
        raise click.ClickException(f"The deployment at {url} did not answer in time") from None
    except httpx.HTTPError as error:
        # Mid-transfer: the server aborts an export that fails after it started.
        raise click.ClickException(
            f"The {what} failed: the connection to {url} broke ({error or type(error).__name__})"
        ) from None


def _refusal(response: httpx.Response, url: str, path: str) -> click.ClickException:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    error = body if isinstance(body, dict) and "code" in body else None
    message = str(error.get("message", "")) if error else ""
    status = response.status_code
    if status == 401:
        return click.ClickException(f"{url} requires an admin key: {message or 'none was sent'}")
    if status == 403:
        return click.ClickException(
            f"The admin key was refused by {url}: it is not this deployment's key"
        )
    if status == 404 and error is None:
        return click.ClickException(
            f"{url} has no {path} endpoint: is it a pyconvex deployment recent enough "
            "for this command?"
        )
    if error is not None:
        return click.ClickException(f"{message} ({error['code']})")
    return click.ClickException(f"{url}{path} failed with HTTP {status}")


def _counts(response: httpx.Response, url: str) -> dict[str, int]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    tables = body.get("tables") if isinstance(body, dict) else None
    if not isinstance(tables, dict):
        raise click.ClickException(f"{url}{_IMPORT_PATH} answered with an unexpected body")
    return {str(name): int(count) for name, count in tables.items()}


def _check_zip(path: Path, url: str) -> None:
    # A complete download ends with the ZIP's central directory.
    try:
        with zipfile.ZipFile(path) as archive:
            archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise click.ClickException(
            f"The export failed: {url} sent an incomplete ZIP file"
        ) from None


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns
