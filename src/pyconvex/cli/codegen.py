"""``pyconvex codegen``: write ``convex/_generated/`` without running a server.

``pyconvex codegen [DIR]`` loads the app in DIR (a project root or its
functions folder, as for ``pyconvex dev``) and writes ``api.py`` and
``client.py`` for Python, and ``api.js``, ``api.d.ts`` and ``dataModel.d.ts``
for TypeScript frontends. ``pyconvex dev`` does the same on every reload.

``--python-client PATH`` also writes the typed Python client to PATH, where
Python code can import it (the functions folder is named ``convex`` like the
PyPI client package, so ``convex._generated`` itself is not importable).
"""

from __future__ import annotations

from pathlib import Path

import click

from pyconvex.cli.dev import resolve_project
from pyconvex.cli.main import main

__all__ = ["codegen"]


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--python-client",
    "python_client",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the typed Python client module to this file.",
)
def codegen(directory: Path, python_client: Path | None) -> None:
    """Generate the typed API of the app in DIRECTORY into its convex/_generated/."""
    from pyconvex.codegen import generate_files, write_generated
    from pyconvex.database.database import Database
    from pyconvex.functions import env
    from pyconvex.functions.loader import load_app
    from pyconvex.server.admin_code import describe_load_error
    from pyconvex.storage.memory import MemoryPersistence

    functions = resolve_project(directory).functions_dir
    # Module-level code may read pyconvex.env; without a deployment it is empty.
    database = Database(MemoryPersistence())
    try:
        env.use_database(database)
        try:
            app = load_app(functions)
        except (Exception, SystemExit) as error:
            raise click.ClickException(
                f"Could not load {functions}: {describe_load_error(error, functions)}"
            ) from None
        changed = write_generated(functions, app.registry, app.schema)
        if python_client is not None:
            text = generate_files(app.registry, app.schema)["client.py"]
            python_client.parent.mkdir(parents=True, exist_ok=True)
            python_client.write_text(text, encoding="utf-8")
    finally:
        database.close()
    state = "written" if changed else "already up to date"
    click.echo(f"✓ {functions / '_generated'} {state} ({len(app.registry)} functions)")
    if python_client is not None:
        click.echo(f"✓ Python client written to {python_client}")
