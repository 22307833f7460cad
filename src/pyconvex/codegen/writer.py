"""Write every generated file of an app into its ``convex/_generated/`` folder.

``api.py`` (function references for Python functions), ``client.py`` (typed
calls for Python callers), and for TypeScript frontends ``api.js``,
``api.d.ts`` and ``dataModel.d.ts``. The server writes them whenever it loads
the app (``pyconvex dev`` on every reload); ``pyconvex codegen`` writes them
without a server. A file is only rewritten when its text changes.
"""

from __future__ import annotations

from pathlib import Path

from pyconvex.codegen.python_api import HEADER, generate_api_module
from pyconvex.codegen.python_client import generate_client_module
from pyconvex.codegen.shapes import function_shapes
from pyconvex.codegen.typescript import (
    generate_api_dts,
    generate_api_js,
    generate_data_model_dts,
)
from pyconvex.database.schema import Schema
from pyconvex.functions.registry import Registry

__all__ = ["GENERATED_DIR", "generate_files", "write_generated"]

GENERATED_DIR = "_generated"


def generate_files(registry: Registry, schema: Schema | None = None) -> dict[str, str]:
    """Every generated file's name (in ``_generated/``) and text."""
    shapes = function_shapes(registry.items())
    return {
        "__init__.py": HEADER,
        "api.py": generate_api_module(registry),
        "client.py": generate_client_module(shapes, schema),
        "api.js": generate_api_js(),
        "api.d.ts": generate_api_dts(shapes, schema),
        "dataModel.d.ts": generate_data_model_dts(schema),
    }


def write_generated(
    functions_dir: str | Path, registry: Registry, schema: Schema | None = None
) -> bool:
    """Write the generated files into ``functions_dir/_generated``; True if any changed."""
    folder = Path(functions_dir) / GENERATED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    changed = False
    for name, text in generate_files(registry, schema).items():
        target = folder / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            # Write beside and rename: a frontend's file watcher never sees half a file.
            partial = target.with_name(f".{name}.partial")
            partial.write_text(text, encoding="utf-8")
            partial.replace(target)
            changed = True
    return changed
