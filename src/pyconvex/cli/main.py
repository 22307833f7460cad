"""``pyconvex``: serve an app, or run its functions from the shell.

``pyconvex dev [DIR]`` serves the app's functions over Convex's HTTP API on
127.0.0.1:3210, with its embedded SQLite database, and writes the deployment URL
to ``.env.local`` (``CONVEX_URL`` and ``VITE_CONVEX_URL``) as Convex's CLI does.

``pyconvex run FUNCTION [ARGS_JSON]`` loads the app's ``convex/`` folder,
opens its embedded SQLite database (``.pyconvex/data.sqlite3`` next to the
folder), applies the schema and runs the function in-process, printing the
result as JSON. Errors are one clear line on stderr and a non-zero exit.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from pyconvex import __version__
from pyconvex.database.database import Database
from pyconvex.errors import ConvexError, PyConvexError
from pyconvex.functions.executor import Executor
from pyconvex.functions.loader import load_app
from pyconvex.functions.registry import FunctionKind
from pyconvex.storage.sqlite import SqlitePersistence
from pyconvex.values.json import decode_json, encode_json

__all__ = ["main"]


@click.group()
@click.version_option(__version__, prog_name="pyconvex")
def main() -> None:
    """pyconvex: a reactive backend platform in Python."""


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=3210, show_default=True, help="Port to listen on.")
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite database file [default: .pyconvex/data.sqlite3 in DIRECTORY].",
)
def dev(directory: Path, host: str, port: int, data: Path | None) -> None:
    """Serve the app in DIRECTORY (its convex/ folder) on a local deployment URL."""
    import uvicorn

    from pyconvex.application import Backend
    from pyconvex.server.app import create_app

    functions = directory / "convex" if (directory / "convex").is_dir() else directory
    try:
        backend = Backend.open(functions, data_path=data)
    except Exception as error:
        raise click.ClickException(f"Could not load {functions}: {error}") from None
    url = f"http://{host}:{port}"
    _write_env_local(functions.resolve().parent / ".env.local", url)
    click.echo(f"pyconvex dev: serving {functions} at {url} ({len(backend.registry)} functions)")
    try:
        uvicorn.run(create_app(backend), host=host, port=port, log_level="warning")
    finally:
        backend.close()


def _write_env_local(path: Path, url: str) -> None:
    keep = []
    if path.exists():
        keep = [
            line
            for line in path.read_text().splitlines()
            if not line.startswith(("CONVEX_URL=", "VITE_CONVEX_URL="))
        ]
    path.write_text("\n".join([*keep, f"CONVEX_URL={url}", f"VITE_CONVEX_URL={url}"]) + "\n")


@main.command()
@click.argument("function")
@click.argument("args", default="{}")
@click.option(
    "--app",
    "app_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("convex"),
    show_default=True,
    help="The app's functions folder.",
)
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite database file [default: .pyconvex/data.sqlite3 beside the app folder].",
)
def run(function: str, args: str, app_dir: Path, data: Path | None) -> None:
    """Run FUNCTION (e.g. messages:list) with ARGS (a JSON object) and print its result."""
    try:
        parsed = decode_json(json.loads(args))
    except (json.JSONDecodeError, PyConvexError) as error:
        raise click.ClickException(f"ARGS is not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise click.ClickException('ARGS must be a JSON object, e.g. \'{"id": "..."}\'')
    try:
        app = load_app(app_dir)
    except Exception as error:
        raise click.ClickException(f"Could not load {app_dir}: {error}") from None
    path = data or app_dir.resolve().parent / ".pyconvex" / "data.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    value = asyncio.run(_run(app, path, function, parsed))
    click.echo(json.dumps(encode_json(value), indent=2, sort_keys=True))


async def _run(app: Any, path: Path, function: str, args: dict[str, Any]) -> Any:
    persistence = SqlitePersistence(path)
    database = Database(persistence)
    executor = Executor(database, app.registry)
    try:
        database.apply_schema(app.schema)
        definition = app.registry.get(function)
        if definition is None:
            raise click.ClickException(f"No function at {function!r} in the app")
        if definition.kind is FunctionKind.QUERY:
            return (await executor.run_query(function, args, allow_internal=True)).value
        if definition.kind is FunctionKind.MUTATION:
            return (await executor.run_mutation(function, args, allow_internal=True)).value
        return (await executor.run_action(function, args, allow_internal=True)).value
    except ConvexError as error:
        raise click.ClickException(f"ConvexError: {json.dumps(encode_json(error.data))}") from None
    except PyConvexError as error:
        raise click.ClickException(error.message) from None
    except click.ClickException:
        raise
    except Exception as error:
        raise click.ClickException(f"Uncaught {type(error).__name__}: {error}") from None
    finally:
        executor.close()
        database.close()
        persistence.close()
