"""The ``pyconvex`` command line."""

from pyconvex.cli.main import main

__all__ = ["main"]
