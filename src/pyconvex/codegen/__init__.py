"""Code generation from an app's functions and schema: ``convex/_generated/``.

Python references (``api.py``), a typed Python client (``client.py``), and the
TypeScript ``api.js``/``api.d.ts``/``dataModel.d.ts`` of Convex's codegen.
"""

from pyconvex.codegen.python_api import generate_api_module
from pyconvex.codegen.writer import generate_files, write_generated

__all__ = ["generate_api_module", "generate_files", "write_generated"]
