"""The project config, ``pyconvex.json``, and choosing the deployment a command talks to.

``pyconvex.json`` sits at the project root (like Convex's ``convex.json``)::

    {
      "functions": "convex",
      "deployments": {
        "dev": {"url": "http://127.0.0.1:3210"},
        "prod": {"url": "https://api.example.com"}
      },
      "db": "postgresql://app@db.internal:5432/app"
    }

Commands find it by walking up from the current directory; without one, the
project root is the current directory, functions live in ``convex/`` and the
dev deployment is ``http://127.0.0.1:3210``.

``db`` (optional) is where ``pyconvex dev`` and ``pyconvex run --local`` keep the
data: a ``postgres://`` URL or a SQLite file path (relative to the project
root). ``--db`` and then the ``PYCONVEX_DB_URL`` environment variable take
precedence; without any, it is ``.pyconvex/data.sqlite3``. Keep passwords out
of the committed file: use ``PYCONVEX_DB_URL``, or libpq's ``PGPASSWORD`` or
``~/.pgpass``, which the URL's connection honours.

Admin keys never go in the config (it is meant to be committed). A command
takes its key from ``--admin-key``, else the ``PYCONVEX_ADMIN_KEY`` environment
variable, else, for a deployment on this machine, the key file
``.pyconvex/admin_key`` that ``pyconvex dev`` writes in the project.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

__all__ = [
    "ADMIN_KEY_ENV",
    "CONFIG_FILE",
    "DB_URL_ENV",
    "DEFAULT_DEV_URL",
    "ProjectConfig",
    "Target",
    "db_option",
    "find_config",
    "is_local_url",
    "load_config",
    "resolve_database",
    "resolve_target",
    "target_options",
]

CONFIG_FILE = "pyconvex.json"
DEFAULT_DEV_URL = "http://127.0.0.1:3210"
ADMIN_KEY_ENV = "PYCONVEX_ADMIN_KEY"
DB_URL_ENV = "PYCONVEX_DB_URL"

# The folder (beside the functions folder, at the project root) holding the
# embedded database and the admin key file; it is git-ignored.
_STATE_DIR = ".pyconvex"
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ProjectConfig:
    """A project: where it is, where its functions are, and its deployments.

    Attributes:
        root: the project root (the folder of ``pyconvex.json``, or where the search began).
        functions: the functions folder, relative to ``root``.
        deployments: deployment name (``dev``, ``prod``, ...) to URL.
        path: the config file, or None when no file was found (defaults apply).
        db: where the data lives (``postgres://`` URL or SQLite path), or None: the default.
    """

    root: Path
    functions: str = "convex"
    deployments: Mapping[str, str] = field(default_factory=lambda: {"dev": DEFAULT_DEV_URL})
    path: Path | None = None
    db: str | None = None

    @property
    def functions_dir(self) -> Path:
        """The functions folder (``convex/``)."""
        return self.root / self.functions

    @property
    def state_dir(self) -> Path:
        """``.pyconvex/`` at the project root: the dev database and the admin key file."""
        return self.root / _STATE_DIR

    @property
    def admin_key_file(self) -> Path:
        """Where ``pyconvex dev`` keeps the local deployment's admin key."""
        return self.state_dir / "admin_key"

    @property
    def dev_url(self) -> str:
        """The dev deployment's URL (the default target)."""
        return self.deployments.get("dev", DEFAULT_DEV_URL)


def find_config(start: Path | None = None) -> ProjectConfig:
    """The config of the project containing ``start`` (default: the current directory).

    Walks up from ``start`` to the first folder holding ``pyconvex.json``; without
    one, returns the defaults rooted at ``start``.

    Raises:
        click.ClickException: the file found is not a valid config.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return load_config(candidate)
    return ProjectConfig(root=here)


def load_config(path: Path) -> ProjectConfig:
    """Read and check one ``pyconvex.json``.

    Raises:
        click.ClickException: unreadable, not JSON, or not the expected shape
            (one line naming the file and the problem).
    """
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise click.ClickException(f"Cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise click.ClickException(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path} must hold a JSON object")
    functions = data.get("functions", "convex")
    if not isinstance(functions, str) or not functions:
        raise click.ClickException(f'{path}: "functions" must be a folder name, e.g. "convex"')
    raw = data.get("deployments", {})
    if not isinstance(raw, dict):
        raise click.ClickException(f'{path}: "deployments" must be an object of name to {{url}}')
    deployments: dict[str, str] = {}
    for name, entry in raw.items():
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise click.ClickException(
                f'{path}: deployment "{name}" needs a "url" starting with http:// or https://'
            )
        if isinstance(entry, dict) and ("adminKey" in entry or "admin_key" in entry):
            # The config is meant to be committed; a key in it would leak.
            raise click.ClickException(
                f"{path}: admin keys do not belong in {CONFIG_FILE} (it is committed); "
                f"use --admin-key or {ADMIN_KEY_ENV}"
            )
        deployments[name] = url.rstrip("/")
    deployments.setdefault("dev", DEFAULT_DEV_URL)
    db = data.get("db")
    if db is not None and (not isinstance(db, str) or not db):
        raise click.ClickException(f'{path}: "db" must be a postgres:// URL or a SQLite file path')
    return ProjectConfig(path.parent.resolve(), functions, deployments, path.resolve(), db)


def resolve_database(config: ProjectConfig, db: str | None, data: Path | None) -> str:
    """Where a local server keeps its data, as a location for ``open_persistence``.

    ``--db``, else ``--data``, else ``$PYCONVEX_DB_URL``, else the config's
    ``db`` (a relative SQLite path is relative to the project root), else
    ``.pyconvex/data.sqlite3`` in the project.

    Raises:
        click.ClickException: both ``--db`` and ``--data`` were given.
    """
    if db is not None and data is not None:
        raise click.ClickException("Use either --db or --data, not both")
    if db:
        return db
    if data is not None:
        return str(data)
    from_env = os.environ.get(DB_URL_ENV, "").strip()
    if from_env:
        return from_env
    if config.db:
        if "://" in config.db or config.db == ":memory:":
            return config.db
        return str(config.root / config.db)
    return str(config.state_dir / "data.sqlite3")


def db_option(command: F) -> F:
    """Add ``--db LOCATION`` (see :func:`resolve_database`) to a command."""
    return click.option(
        "--db",
        default=None,
        metavar="URL",
        help="Keep the data in this database: postgres://user@host/dbname or a SQLite file "
        f'[default: ${DB_URL_ENV}, else "db" in {CONFIG_FILE}, else .pyconvex/data.sqlite3].',
    )(command)


def is_local_url(url: str) -> bool:
    """Whether ``url`` points at this machine (where ``pyconvex dev`` keeps its key file)."""
    host = urlsplit(url).hostname or ""
    return host in _LOOPBACK or host.startswith("127.")


@dataclass(frozen=True)
class Target:
    """The deployment a command talks to.

    Attributes:
        name: ``"dev"``, ``"prod"`` (or another config name), or ``"url"`` for ``--url``.
        url: its base URL, without a trailing slash.
        admin_key: its admin key, or None when none was found.
        key_hint: what to do when a key is needed and missing (one sentence).
    """

    name: str
    url: str
    admin_key: str | None
    key_hint: str = ""

    def require_admin_key(self) -> str:
        """The admin key.

        Raises:
            click.ClickException: there is none (one line saying where keys come from).
        """
        if self.admin_key is None:
            raise click.ClickException(f"No admin key for {self.url}: {self.key_hint}")
        return self.admin_key


def resolve_target(
    config: ProjectConfig,
    *,
    url: str | None = None,
    prod: bool = False,
    admin_key: str | None = None,
) -> Target:
    """Choose the deployment: ``--url``, else ``--prod``, else the project's dev deployment.

    Raises:
        click.ClickException: both ``--url`` and ``--prod``, a missing ``prod``
            deployment, or a URL that is not http(s).
    """
    if url is not None and prod:
        raise click.ClickException("Use either --url or --prod, not both")
    if url is not None:
        if not url.startswith(("http://", "https://")):
            raise click.ClickException(f"--url must start with http:// or https://, got {url!r}")
        name, chosen = "url", url.rstrip("/")
    elif prod:
        if "prod" not in config.deployments:
            where = config.path or f"{config.root / CONFIG_FILE} (no such file)"
            raise click.ClickException(f'No "prod" deployment in {where}')
        name, chosen = "prod", config.deployments["prod"]
    else:
        name, chosen = "dev", config.dev_url
    key, hint = _admin_key(config, chosen, admin_key)
    return Target(name, chosen, key, hint)


def _admin_key(config: ProjectConfig, url: str, given: str | None) -> tuple[str | None, str]:
    hint = f"pass --admin-key or set {ADMIN_KEY_ENV}"
    if given:
        return given.strip(), hint
    from_env = os.environ.get(ADMIN_KEY_ENV, "").strip()
    if from_env:
        return from_env, hint
    if is_local_url(url):
        key_file = config.admin_key_file
        try:
            return key_file.read_text().strip() or None, hint
        except OSError:
            hint = f"{key_file} does not exist (start `pyconvex dev` in the project), or {hint}"
    return None, hint


def target_options(command: F) -> F:
    """Add ``--url``, ``--prod`` and ``--admin-key`` to a command (see :func:`resolve_target`)."""
    options = [
        click.option(
            "--url",
            default=None,
            metavar="URL",
            help="Talk to the deployment at URL instead of the project's dev deployment.",
        ),
        click.option(
            "--prod",
            is_flag=True,
            default=False,
            help='Talk to the "prod" deployment of pyconvex.json.',
        ),
        click.option(
            "--admin-key",
            default=None,
            metavar="KEY",
            help=f"The deployment's admin key [default: ${ADMIN_KEY_ENV}, or the local key file].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command
