"""Code generation from an app's registry: ``convex/_generated/api.py``."""

from pyconvex.codegen.python_api import generate_api_module, write_generated

__all__ = ["generate_api_module", "write_generated"]
