"""``pyconvex dev``: serve an app locally.

``pyconvex dev [DIR]`` serves the app's functions over Convex's HTTP API on
127.0.0.1:3210, with its embedded SQLite database, and writes the deployment URL
to ``.env.local`` (``CONVEX_URL`` and ``VITE_CONVEX_URL``) as Convex's CLI does.
"""

from __future__ import annotations

from pathlib import Path

import click

from pyconvex.cli.main import main

__all__ = ["dev"]


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
