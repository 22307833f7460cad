"""The public surface: what ``import pyconvex`` offers, and every module's ``__all__``."""

from __future__ import annotations

import importlib
import pkgutil

import pyconvex


def test_the_root_exports_exactly_its_all() -> None:
    public = {name for name in vars(pyconvex) if not name.startswith("_")}
    submodules = {m.name for m in pkgutil.iter_modules(pyconvex.__path__)}
    assert set(pyconvex.__all__) == public - submodules
    for name in pyconvex.__all__:
        assert getattr(pyconvex, name) is not None


def test_every_module_declares_all_and_documents_itself() -> None:
    for info in pkgutil.walk_packages(pyconvex.__path__, "pyconvex."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        assert module.__doc__, f"{info.name} has no module docstring"
        if not info.ispkg:
            assert hasattr(module, "__all__"), f"{info.name} has no __all__"
            for name in module.__all__:
                assert hasattr(module, name), f"{info.name}.__all__ lists missing {name}"
