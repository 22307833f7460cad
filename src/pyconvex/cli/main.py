"""``pyconvex``: the command-line group; each command family lives in its own module."""

from __future__ import annotations

import click

from pyconvex import __version__

__all__ = ["main"]


@click.group()
@click.version_option(__version__, prog_name="pyconvex")
def main() -> None:
    """pyconvex: a reactive backend platform in Python."""


def _register() -> None:
    # Command modules attach themselves to ``main`` when imported.
    from pyconvex.cli import (  # noqa: F401
        codegen,
        dashboard,
        data,
        deploy,
        dev,
        env,
        init,
        logs,
        run,
    )


_register()
