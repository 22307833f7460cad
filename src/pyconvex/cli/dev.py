"""``pyconvex dev``: serve an app locally and reload it on every change.

``pyconvex dev [DIR]`` serves the app's functions over Convex's HTTP API on
127.0.0.1:3210 (``--host``/``--port``, or the port of the dev URL in
``pyconvex.json``), with its embedded SQLite database in ``.pyconvex/`` (or the
database of ``--db``, ``PYCONVEX_DB_URL`` or the config's ``db``: a
``postgres://`` URL serves from PostgreSQL, possibly as one of several nodes), and
writes the deployment URL to ``.env.local`` (``CONVEX_URL`` and
``VITE_CONVEX_URL``) as Convex's CLI does. DIR is the project root (holding
``pyconvex.json`` or ``convex/``) or the functions folder itself. Uploaded files
go to ``.pyconvex/files/``, or where ``--files`` says (a directory or
``s3://bucket/prefix``; see :mod:`pyconvex.files.location`).

Every change under the functions folder reloads the app: everything is checked
first (imports, function definitions, the schema against existing data), then
swapped in atomically; a broken edit prints its error and the previous code
keeps serving. Every function run is printed as it finishes.
"""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from pyconvex.cli.config import (
    ProjectConfig,
    db_option,
    find_config,
    is_local_url,
    resolve_database,
)
from pyconvex.cli.main import main

if TYPE_CHECKING:
    from pyconvex.application import Backend

__all__ = ["dev", "reload_app", "resolve_project"]

_DEFAULT_PORT = 3210
# Editor swap files, caches and the like: changing them changes no code.
_IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", ".tmp", "~")
_IGNORED_DIRS = frozenset({"__pycache__", "_generated"})


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=int,
    default=None,
    help="Port to listen on [default: the dev URL's port in pyconvex.json, else 3210].",
)
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite database file [default: .pyconvex/data.sqlite3 in the project].",
)
@db_option
@click.option(
    "--files",
    envvar="PYCONVEX_FILES",
    default=None,
    metavar="DIR|s3://BUCKET/PREFIX",
    help="Where file storage keeps uploaded files: a directory, or an S3 bucket and prefix "
    "configured by the PYCONVEX_S3_* variables [env: PYCONVEX_FILES; default: "
    ".pyconvex/files in the project].",
)
@click.option(
    "--watch/--no-watch",
    default=True,
    show_default=True,
    help="Reload the app when a file under the functions folder changes.",
)
@click.option(
    "--production",
    is_flag=True,
    help="Hide the details of failures other than ConvexError from clients (the logs keep "
    "them) and do not reload on file changes.",
)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Also serve Prometheus /metrics on this port of --host, without the admin key "
    "(the deployment's own /metrics requires it).",
)
def dev(
    directory: Path,
    host: str,
    port: int | None,
    data: Path | None,
    files: str | None,
    db: str | None,
    watch: bool,
    production: bool,
    metrics_port: int | None,
) -> None:
    """Serve the app in DIRECTORY (its convex/ folder) on a local deployment URL."""
    # Reloads re-import edited files; a bytecode cache keyed on the source's
    # mtime in whole seconds could serve a same-size edit made within the same
    # second as the cached version. Dev compiles from source every time instead.
    sys.dont_write_bytecode = True
    import psycopg
    import uvicorn

    from pyconvex.application import Backend
    from pyconvex.files.base import FileStoreError
    from pyconvex.server.admin_code import describe_load_error
    from pyconvex.server.app import create_app
    from pyconvex.storage.opener import describe_location

    project = resolve_project(directory)
    functions = project.functions_dir
    location = resolve_database(project, db, data)
    try:
        backend = Backend.open(functions, data_path=location, files=files)
    except FileStoreError as error:
        where = files or project.state_dir / "files"
        raise click.ClickException(f"Cannot keep files in {where}: {error.message}") from None
    except psycopg.Error as error:
        raise click.ClickException(
            f"Could not open the database {describe_location(location)}: {error}"
        ) from None
    except Exception as error:
        raise click.ClickException(
            f"Could not load {functions}: {describe_load_error(error, functions)}"
        ) from None
    stop = threading.Event()
    listener: socket.socket | None = None
    metrics_server: Any = None
    try:
        port = port if port is not None else _configured_port(project)
        listener = _listen(host, port)
        url = f"http://{_url_host(host)}:{port}"
        backend.set_url(url)  # upload and file URLs point at this server
        _write_env_local(project.root / ".env.local", url)
        click.echo(
            f"pyconvex dev: serving {functions} at {url} ({len(backend.registry)} functions)"
        )
        click.echo(f"  data: {describe_location(location)}")
        if backend.admin_key is not None:
            click.echo(f"  admin key: {backend.admin_key}")
        else:
            click.echo(
                "  admin key: the deployment's (set by another node; give this node "
                "PYCONVEX_ADMIN_KEY to know it)"
            )
        click.echo(f"  files: {backend.files.store.location}")
        click.echo(f"  dashboard: {url}/dashboard/ (or `pyconvex dashboard`)")
        click.echo(f"  CONVEX_URL and VITE_CONVEX_URL written to {project.root / '.env.local'}")
        _print_runs(backend)
        if watch and not production:
            watcher = threading.Thread(
                target=_watch, args=(backend, functions, stop), name="pyconvex-watch", daemon=True
            )
            watcher.start()
            click.echo(f"  watching {functions} for changes (Ctrl-C to stop)")
        app = create_app(backend, production=production)
        if metrics_port is not None:
            metrics_server = _serve_metrics(app, host, metrics_port)
            click.echo(f"  metrics: http://{_url_host(host)}:{metrics_port}/metrics")
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            # Long-polling `pyconvex logs` requests must not hold up Ctrl-C.
            timeout_graceful_shutdown=1,
        )
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        stop.set()
        if listener is not None:
            listener.close()
        if metrics_server is not None:
            metrics_server.close()
        backend.close()


def resolve_project(directory: Path) -> ProjectConfig:
    """The project ``pyconvex dev DIR`` serves.

    DIR is a project root with ``pyconvex.json`` (or inside its functions
    folder); else a folder holding ``convex/``; else the functions folder itself.
    """
    directory = directory.resolve()
    config = find_config(directory)
    if config.path is not None and (
        directory == config.root or directory.is_relative_to(config.functions_dir.resolve())
    ):
        return config
    if (directory / "convex").is_dir():
        return ProjectConfig(root=directory)
    return ProjectConfig(root=directory.parent, functions=directory.name)


def reload_app(backend: Backend, functions: Path) -> str:
    """Reload ``functions`` into ``backend``; one line saying what happened.

    On any error the previous code keeps serving (``Backend.reload`` is atomic).
    """
    from pyconvex.server.admin_code import describe_load_error

    try:
        app = backend.reload(functions)
    except (Exception, SystemExit) as error:  # an app module may even call exit()
        return "✗ reload failed, the previous code keeps serving: " + describe_load_error(
            error, functions
        )
    return f"✓ reloaded ({len(app.registry)} functions)"


def _watch(backend: Backend, functions: Path, stop: threading.Event) -> None:
    import watchfiles

    root = functions.resolve()

    def relevant(change: watchfiles.Change, path: str) -> bool:
        parts = Path(path).relative_to(root).parts
        # _generated/ is written by every reload itself; watching it would
        # reload once more for nothing.
        skipped = any(part.startswith(".") or part in _IGNORED_DIRS for part in parts)
        return not skipped and not path.endswith(_IGNORED_SUFFIXES)

    try:
        for _changes in watchfiles.watch(
            root,
            watch_filter=relevant,
            stop_event=stop,
            # Group an editor's burst of writes into one reload, but react fast.
            debounce=400,
            step=30,
            raise_interrupt=False,
        ):
            click.echo(reload_app(backend, functions))
    except Exception as error:  # the folder vanished, the OS watcher failed, ...
        click.echo(f"✗ stopped watching {functions}: {error}", err=True)


def _print_runs(backend: Backend) -> None:
    # ``Executor.logs`` records every run; older executors had none, so dev
    # then simply prints nothing per run.
    logs: Any = getattr(backend.executor, "logs", None)
    if logs is None or not hasattr(logs, "add_listener"):
        return
    from pyconvex.functions.logs import FunctionRun, format_run

    lock = threading.Lock()  # runs finish on several threads; keep their lines together

    def show(run: FunctionRun) -> None:
        with lock:
            click.echo(format_run(run))

    # Replayed: scheduled jobs and crons may have run while the server was starting.
    logs.add_listener(show, replay=True)


def _serve_metrics(app: Any, host: str, port: int) -> Any:
    from pyconvex.server.metrics import serve_metrics

    try:
        return serve_metrics(app.state.metrics, host, port)
    except OSError as error:
        raise click.ClickException(
            f"Cannot serve metrics on {host}:{port}: {error.strerror}"
        ) from None


def _configured_port(project: ProjectConfig) -> int:
    parts = urlsplit(project.dev_url)
    if project.path is not None and is_local_url(project.dev_url) and parts.port:
        return parts.port
    return _DEFAULT_PORT


def _listen(host: str, port: int) -> socket.socket:
    # Bind here rather than in uvicorn: a taken port is then one clear line.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise click.ClickException(
            f"Cannot listen on {host}:{port}: {error.strerror} "
            "(is another `pyconvex dev` running? pick another --port)"
        ) from None
    return sock


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"  # listening everywhere: clients here reach it on loopback
    return f"[{host}]" if ":" in host else host


def _write_env_local(path: Path, url: str) -> None:
    keep = []
    if path.exists():
        keep = [
            line
            for line in path.read_text().splitlines()
            if not line.startswith(("CONVEX_URL=", "VITE_CONVEX_URL="))
        ]
    path.write_text("\n".join([*keep, f"CONVEX_URL={url}", f"VITE_CONVEX_URL={url}"]) + "\n")
