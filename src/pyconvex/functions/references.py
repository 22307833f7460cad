"""Function references and paths: ``api.messages.list`` and ``"messages:list"``.

A function's path is its module path (``/``-separated, no extension) and its
Python name, joined by ``:``. Callers may write a path loosely; :func:`canonical_path`
accepts the forms Convex accepts (``messages`` for the default export,
``messages.js:list``, ``messages.py:list``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "FunctionReference",
    "GeneratedNamespace",
    "api",
    "canonical_path",
    "function_path",
    "internal",
]


@dataclass(frozen=True, slots=True)
class FunctionReference:
    """A reference to a backend function by path, e.g. ``FunctionReference("tasks:get")``."""

    path: str

    def __str__(self) -> str:
        return self.path


def canonical_path(path: str) -> str:
    """Normalise a function path: ``messages`` → ``messages:default``, drop ``.js``/``.py``.

    Raises:
        ValueError: the path is empty or has more than one ``:``.
    """
    if type(path) is str:
        cached = _canonical.get(path)
        if cached is not None:
            return cached
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"Invalid function path: {path!r}")
    canonical = _canonicalize(path)
    if len(_canonical) < _CANONICAL_CACHE_SIZE:
        _canonical[path] = canonical
    return canonical


# Every call resolves its function's path; an app has few distinct spellings.
_canonical: dict[str, str] = {}
_CANONICAL_CACHE_SIZE = 4096


def _canonicalize(path: str) -> str:
    module, sep, name = path.partition(":")
    if ":" in name:
        raise ValueError(f"Invalid function path: {path!r}")
    for extension in (".js", ".ts", ".py", ".jsx", ".tsx", ".mjs", ".cjs"):
        if module.endswith(extension):
            module = module[: -len(extension)]
            break
    module = module.strip("/")
    return f"{module}:{name if sep and name else 'default'}"


def function_path(target: Any) -> str:
    """The canonical path of a reference, a path string, or a registered function."""
    if isinstance(target, FunctionReference):
        return canonical_path(target.path)
    if isinstance(target, str):
        return canonical_path(target)
    path = getattr(target, "path", None)
    if isinstance(path, str):
        return canonical_path(path)
    raise TypeError(
        f"Expected a function reference (api.module.function) or a path string, got {target!r}"
    )


class _ApiNamespace:
    """Attribute access builds references: ``api.foo.bar.fn`` → ``foo/bar:fn``."""

    __slots__ = ("_parts",)

    def __init__(self, parts: tuple[str, ...]) -> None:
        self._parts = parts

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _ApiNamespace((*self._parts, name))

    @property
    def path(self) -> str:
        if len(self._parts) < 2:
            raise AttributeError(f"incomplete function reference: {'.'.join(self._parts)}")
        return "/".join(self._parts[:-1]) + ":" + self._parts[-1]

    def __repr__(self) -> str:
        return f"<function reference {'.'.join(self._parts) or 'api'}>"


class GeneratedNamespace(type):
    """Metaclass of the classes in ``_generated/api.py``.

    They list every function for editors and type checkers; a name they do not
    list (a function added after the file was written, before it is rewritten)
    still resolves, to a dynamic reference, so a stale file never breaks an app.
    """

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        parts: tuple[str, ...] = cls.__dict__.get("_parts", ())
        return _ApiNamespace((*parts, name))


#: References to public functions, e.g. ``api.messages.list``.
api: Any = _ApiNamespace(())
#: References to internal functions, e.g. ``internal.tasks.categorizePending``.
internal: Any = _ApiNamespace(())
