"""``pyconvex run``: run one function and print its result as JSON.

By default the function runs on the project's deployment (``pyconvex dev``, or
``--prod`` / ``--url``) over HTTP with the admin key, so internal functions can
be run too, and its log lines go to stderr. ``--local`` runs it in this process
instead, on the app's database (``.pyconvex/data.sqlite3``, or ``--db``,
``PYCONVEX_DB_URL`` or the config's ``db``: a SQLite file or a ``postgres://``
URL); giving ``--app``, ``--data`` or ``--db`` implies ``--local``. Errors are one clear line on
stderr and a non-zero exit.

``--identity '{"issuer": "...", "subject": "..."}'`` runs it as that user (the admin
acting as a user, as ``npx convex run --identity`` does): ``ctx.auth`` sees it.

ARGS and the printed result are Convex's JSON encoding (``{"$integer": ...}``
for 64-bit integers, ``{"$bytes": ...}`` for bytes).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from pathlib import Path
from typing import Any

import click

from pyconvex.application import default_data_path
from pyconvex.cli.client import AdminClient, FunctionFailed
from pyconvex.cli.config import (
    ProjectConfig,
    db_option,
    find_config,
    resolve_database,
    resolve_target,
    target_options,
)
from pyconvex.cli.main import main
from pyconvex.database.database import Database
from pyconvex.errors import ConvexError, PyConvexError
from pyconvex.functions.executor import Executor
from pyconvex.functions.loader import load_app
from pyconvex.functions.registry import FunctionKind
from pyconvex.storage.opener import open_persistence
from pyconvex.values.json import decode_json, encode_clean_json, encode_json

__all__ = ["run"]


@main.command()
@click.argument("function")
@click.argument("args", default="{}")
@target_options
@click.option(
    "--local",
    is_flag=True,
    default=False,
    help="Run in this process on the app's embedded database instead of on a deployment.",
)
@click.option(
    "--app",
    "app_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --local (implied): the app's functions folder [default: from pyconvex.json].",
)
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --local (implied): the SQLite file [default: .pyconvex/data.sqlite3].",
)
@db_option
@click.option(
    "--watch",
    is_flag=True,
    default=False,
    help="Subscribe to a query and print each new result until Ctrl-C.",
)
@click.option(
    "--identity",
    default=None,
    help='Run as this user: a JSON identity with "tokenIdentifier", or "issuer" and "subject".',
)
def run(
    function: str,
    args: str,
    url: str | None,
    prod: bool,
    admin_key: str | None,
    local: bool,
    app_dir: Path | None,
    data: Path | None,
    db: str | None,
    watch: bool,
    identity: str | None,
) -> None:
    """Run FUNCTION (e.g. messages:list) with ARGS (a JSON object) and print its result."""
    raw = _parse_args(args)
    acting = _parse_identity(identity)
    if watch:
        target = resolve_target(find_config(), url=url, prod=prod, admin_key=admin_key)
        _watch(target.url, target.require_admin_key(), function, raw, acting)
        return
    if local or app_dir is not None or data is not None or db is not None:
        if url is not None or prod:
            raise click.ClickException("--local runs in this process: it takes no --url or --prod")
        _run_local(function, raw, app_dir, data, db, acting)
        return
    target = resolve_target(find_config(), url=url, prod=prod, admin_key=admin_key)
    key = target.require_admin_key()
    if acting is not None:
        # ``Convex <key>:<base64 identity>``: the admin acting as a user.
        key += ":" + base64.b64encode(json.dumps(acting).encode()).decode()
    with AdminClient(target.url, key) as client:
        try:
            result = client.call_function(function, raw)
        except FunctionFailed as failure:
            _echo_log_lines(failure.log_lines)
            raise
    _echo_log_lines(result.log_lines)
    click.echo(json.dumps(result.value, indent=2, sort_keys=True))


def _watch(
    url: str,
    admin_key: str,
    function: str,
    args: dict[str, Any],
    acting: dict[str, Any] | None = None,
) -> None:
    """Subscribe over the sync protocol (as the admin, so internal queries work)."""
    from websockets.exceptions import ConnectionClosed, WebSocketException
    from websockets.sync.client import connect

    socket_url = "ws" + url.removeprefix("http").rstrip("/") + "/api/sync"
    authenticate: dict[str, Any] = {
        "type": "Authenticate",
        "baseVersion": 0,
        "tokenType": "Admin",
        "value": admin_key,
    }
    if acting is not None:
        authenticate["impersonating"] = acting
    frames = [
        {"type": "Connect", "sessionId": str(uuid.uuid4()), "connectionCount": 0, "clientTs": 0},
        authenticate,
        {
            "type": "ModifyQuerySet",
            "baseVersion": 0,
            "newVersion": 1,
            "modifications": [
                {"type": "Add", "queryId": 0, "udfPath": function, "args": [encode_json(args)]}
            ],
        },
    ]
    try:
        with connect(socket_url) as socket:
            # A refused key closes the socket at once; its AuthError is still read below.
            with contextlib.suppress(ConnectionClosed):
                for frame in frames:
                    socket.send(json.dumps(frame))
            for text in socket:
                _show_update(json.loads(text))
    except KeyboardInterrupt:
        return
    except (OSError, WebSocketException) as error:
        raise click.ClickException(f"Lost the connection to {url}: {error}") from None


def _show_update(message: dict[str, Any]) -> None:
    if message.get("type") == "AuthError":
        raise click.ClickException(f"The deployment refused the admin key: {message['error']}")
    if message.get("type") == "FatalError":
        raise click.ClickException(str(message.get("error")))
    for change in message.get("modifications", []) if message.get("type") == "Transition" else []:
        _echo_log_lines(change.get("logLines", []))
        if change["type"] == "QueryUpdated":
            value = decode_json(change["value"])
            click.echo(json.dumps(encode_clean_json(value), indent=2, sort_keys=True), nl=True)
        elif change["type"] == "QueryFailed":
            click.echo(f"✗ {change['errorMessage']}", err=True)


def _parse_args(args: str) -> dict[str, Any]:
    """ARGS as convex-encoded JSON, checked here so a typo never reaches the server."""
    try:
        raw = json.loads(args)
        decode_json(raw)
    except (json.JSONDecodeError, PyConvexError) as error:
        raise click.ClickException(f"ARGS is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise click.ClickException('ARGS must be a JSON object, e.g. \'{"id": "..."}\'')
    return raw


def _parse_identity(identity: str | None) -> dict[str, Any] | None:
    """``--identity`` as a dict, with the fields a user identity needs."""
    if identity is None:
        return None
    try:
        parsed = json.loads(identity)
    except json.JSONDecodeError as error:
        raise click.ClickException(f"--identity is not valid JSON: {error}") from None
    if not isinstance(parsed, dict) or not (
        "tokenIdentifier" in parsed or {"issuer", "subject"} <= set(parsed)
    ):
        raise click.ClickException(
            '--identity needs "tokenIdentifier", or "issuer" and "subject", e.g. '
            '\'{"issuer": "https://example.com", "subject": "ada"}\''
        )
    return parsed


def _echo_log_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)


def _run_local(
    function: str,
    raw: dict[str, Any],
    app_dir: Path | None,
    data: Path | None,
    db: str | None,
    acting: dict[str, Any] | None = None,
) -> None:
    config = find_config()
    if app_dir is None:
        app_dir = config.functions_dir
    else:
        # The app's own project: its .pyconvex/ is beside the functions folder.
        config = ProjectConfig(root=default_data_path(app_dir).parent.parent, db=config.db)
    try:
        app = load_app(app_dir)
    except Exception as error:
        raise click.ClickException(f"Could not load {app_dir}: {error}") from None
    location = resolve_database(config, db, data)
    result = asyncio.run(_run(app, location, function, decode_json(raw), acting))
    # Results carry the function's log lines (guarded: older executors had none).
    _echo_log_lines([str(line) for line in getattr(result, "log_lines", ())])
    click.echo(json.dumps(encode_json(result.value), indent=2, sort_keys=True))


async def _run(
    app: Any, location: str, function: str, args: dict[str, Any], acting: dict[str, Any] | None
) -> Any:
    persistence = open_persistence(location)
    database = Database(persistence)
    executor = Executor(database, app.registry)
    try:
        database.apply_schema(app.schema)
        definition = app.registry.get(function)
        if definition is None:
            raise click.ClickException(f"No function at {function!r} in the app")
        if definition.kind is FunctionKind.QUERY:
            return await executor.run_query(function, args, identity=acting, allow_internal=True)
        if definition.kind is FunctionKind.MUTATION:
            return await executor.run_mutation(function, args, identity=acting, allow_internal=True)
        return await executor.run_action(function, args, identity=acting, allow_internal=True)
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
