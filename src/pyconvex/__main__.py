"""``python -m pyconvex``: the command line."""

from pyconvex.cli import main

main()
