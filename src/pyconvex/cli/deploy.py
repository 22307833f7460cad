"""``pyconvex deploy``: push the functions folder to a running deployment.

The folder (``convex/``, or the ``functions`` entry of ``pyconvex.json``) is
zipped and sent to ``POST /api/admin/push`` with the admin key. The server
checks everything (imports, function definitions, the schema against existing
data) before swapping the new code in; if anything fails it keeps serving the
old code and the error is printed here, with a non-zero exit.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import click

from pyconvex.cli.client import AdminClient
from pyconvex.cli.config import find_config, resolve_target, target_options
from pyconvex.cli.main import main

__all__ = ["deploy", "zip_functions"]

# Not code: caches and editor or OS litter would only make the upload bigger.
_SKIP_DIRS = frozenset({"__pycache__", "node_modules"})
_SKIP_SUFFIXES = (".pyc", ".pyo")


@main.command()
@target_options
@click.option(
    "--functions",
    "functions_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The functions folder to push [default: from pyconvex.json, else ./convex].",
)
def deploy(url: str | None, prod: bool, admin_key: str | None, functions_dir: Path | None) -> None:
    """Push the functions folder to a deployment and swap it in atomically."""
    config = find_config()
    target = resolve_target(config, url=url, prod=prod, admin_key=admin_key)
    folder = functions_dir or config.functions_dir
    if not folder.is_dir():
        raise click.ClickException(f"No functions folder at {folder}")
    archive = zip_functions(folder)
    with AdminClient(target.url, target.require_admin_key(), timeout=120.0) as client:
        answer = client.post_bytes("/api/admin/push", archive, "application/zip")
    count = answer.get("functions") if isinstance(answer, dict) else None
    click.echo(f"✓ Deployed {folder} to {target.url} ({count} functions)")


def zip_functions(folder: Path) -> bytes:
    """A zip of ``folder``'s files (paths relative to it), without caches and dotfiles."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if any(part in _SKIP_DIRS or part.startswith(".") for part in relative.parts):
                continue
            if path.is_file() and not path.name.endswith(_SKIP_SUFFIXES):
                bundle.write(path, relative.as_posix())
    return buffer.getvalue()
