"""``pyconvex init``: create a new app from a template.

``pyconvex init [DIR] --template NAME`` copies a template shipped in the package
(``pyconvex/templates/<NAME>/``: ``pyconvex.json``, ``README.md``, ``convex/``)
into DIR, which must be empty or not exist yet. Templates: ``blank``,
``with-auth``, ``with-file-storage`` and ``chat``.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import click

from pyconvex.cli.main import main

__all__ = ["TEMPLATES", "init", "write_template"]

TEMPLATES = ("blank", "with-auth", "with-file-storage", "chat")

# Packaging tools treat a file named .gitignore specially (as ignore rules, not
# data), so templates ship it as ``gitignore`` and it is renamed on the way out.
_RENAMES = {"gitignore": ".gitignore"}
# Created by running an app; never part of a new one.
_SKIPPED = frozenset({"__pycache__", "_generated", ".pyconvex", ".env.local"})


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--template",
    type=click.Choice(TEMPLATES),
    default="blank",
    show_default=True,
    help="What the new app starts with.",
)
def init(directory: Path, template: str) -> None:
    """Create a new app in DIRECTORY (empty or new) from a template."""
    if directory.exists() and any(directory.iterdir()):
        raise click.ClickException(
            f"{directory} is not empty: pick a new folder, e.g. `pyconvex init my-app`"
        )
    written = write_template(template, directory)
    click.echo(f"✓ Created a {template} app in {directory} ({written} files)")
    here = directory.resolve() == Path.cwd().resolve()
    click.echo("Next:" + ("" if here else f"\n  cd {directory}"))
    click.echo("  pyconvex dev      # serve convex/ at http://127.0.0.1:3210, reload on save")


def write_template(name: str, directory: Path) -> int:
    """Copy template ``name`` into ``directory`` (created if needed); the number of files.

    Raises:
        click.ClickException: there is no such template in this installation.
    """
    source = resources.files("pyconvex").joinpath("templates", name)
    if name not in TEMPLATES or not source.is_dir():
        raise click.ClickException(f"No template {name!r} in this installation of pyconvex")
    directory.mkdir(parents=True, exist_ok=True)
    return _copy(source, directory)


def _copy(source: Traversable, target: Path) -> int:
    count = 0
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if entry.name in _SKIPPED or entry.name.endswith((".pyc", ".pyo")):
            continue
        destination = target / _RENAMES.get(entry.name, entry.name)
        if entry.is_dir():
            destination.mkdir(exist_ok=True)
            count += _copy(entry, destination)
        else:
            destination.write_bytes(entry.read_bytes())
            count += 1
    return count
