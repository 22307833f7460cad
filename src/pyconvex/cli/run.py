"""``pyconvex run``: run one function of an app in-process and print its result.

It loads the app's ``convex/`` folder, opens its embedded SQLite database
(``.pyconvex/data.sqlite3`` next to the folder), applies the schema and runs the
function, printing the result as JSON. Errors are one clear line on stderr and
a non-zero exit.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from pyconvex.cli.main import main
from pyconvex.database.database import Database
from pyconvex.errors import ConvexError, PyConvexError
from pyconvex.functions.executor import Executor
from pyconvex.functions.loader import load_app
from pyconvex.functions.registry import FunctionKind
from pyconvex.storage.sqlite import SqlitePersistence
from pyconvex.values.json import decode_json, encode_json

__all__ = ["run"]


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
