"""Load an app's ``convex/`` folder: its function modules and its schema.

Modules are imported by file path under a private package name, so the app's
folder called ``convex`` never shadows the PyPI ``convex`` client package.
``foo/bar.py`` becomes module path ``foo/bar``; files and folders starting
with ``_`` (such as ``_generated``) and the special files (``schema.py``,
``crons.py``, ``http.py``, ``auth_config.py``) are not function modules.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyconvex.database.schema import Schema
from pyconvex.errors import SchemaError
from pyconvex.functions import console
from pyconvex.functions.registry import Registry

__all__ = ["LoadedApp", "load_app"]

SPECIAL_MODULES = frozenset({"schema", "crons", "http", "auth_config"})


@dataclass(frozen=True)
class LoadedApp:
    """An app's functions and schema, loaded from its functions folder."""

    registry: Registry
    schema: Schema | None
    modules: dict[str, types.ModuleType]


def load_app(folder: str | Path) -> LoadedApp:
    """Import every module of ``folder`` and build the registry and schema.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        SchemaError: ``schema.py`` does not define a schema.
        Exception: whatever an app module raised while importing.
    """
    root = Path(folder).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"No functions folder at {root}")
    package = _private_package(root)
    # logging.getLogger(__name__) in an app module is a child of the package logger.
    console.attach_logger(package)
    modules: dict[str, types.ModuleType] = {}
    for file in sorted(root.rglob("*.py")):
        relative = file.relative_to(root).with_suffix("")
        if any(part.startswith("_") for part in relative.parts):
            continue
        module_path = "/".join(relative.parts)
        modules[module_path] = _import(package, module_path, file)
    schema = _schema_of(modules.get("schema"))
    functions = {k: m for k, m in modules.items() if k not in SPECIAL_MODULES}
    return LoadedApp(Registry.from_modules(functions), schema, modules)


def _private_package(root: Path) -> str:
    name = "_pyconvex_app_" + hashlib.sha256(str(root).encode()).hexdigest()[:12]
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(root)]
        sys.modules[name] = package
    return name


def _import(package: str, module_path: str, file: Path) -> types.ModuleType:
    name = f"{package}.{module_path.replace('/', '.')}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _schema_of(module: Any) -> Schema | None:
    if module is None:
        return None
    for attribute in ("schema", "default"):
        value = getattr(module, attribute, None)
        if isinstance(value, Schema):
            return value
    raise SchemaError("convex/schema.py must define `schema = define_schema({...})`")
