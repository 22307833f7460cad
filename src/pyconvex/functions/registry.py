"""Function definitions and the registry of an app's functions.

App authors declare functions with the decorators, in snake_case but otherwise
exactly as Convex's ``query({args, handler})``::

    @query(args={"channelId": v.id("channels")})
    async def list(ctx, args): ...

    @mutation                      # no validator: any arguments are accepted
    def touch(ctx, args): ...      # sync handlers run in a worker thread

A handler takes ``(ctx, args)``, or just ``(ctx)`` when it needs no arguments.
:class:`Registry` maps canonical paths (``messages:list``) to definitions.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any, overload

from pyconvex.errors import FunctionNotFoundError
from pyconvex.functions.references import canonical_path
from pyconvex.values.validators import ObjectValidator, Validator, v

__all__ = [
    "FunctionDefinition",
    "FunctionKind",
    "Registry",
    "action",
    "internal_action",
    "internal_mutation",
    "internal_query",
    "mutation",
    "query",
]


class FunctionKind(enum.Enum):
    """What a function may do (semantics.md 4.1)."""

    QUERY = "query"
    MUTATION = "mutation"
    ACTION = "action"


@dataclass(frozen=True)
class FunctionDefinition:
    """A declared function: kind, visibility, validators and handler.

    Attributes:
        path: the canonical path, set when the function is registered.
    """

    kind: FunctionKind
    handler: Callable[..., Any]
    args: ObjectValidator | Validator | None = None
    returns: Validator | None = None
    internal: bool = False
    path: str | None = field(default=None, compare=False)

    takes_args: bool = field(init=False, compare=False)
    is_async: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once: inspecting a signature costs more than a whole mutation.
        object.__setattr__(self, "takes_args", _takes_args(self.handler))
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.handler))


def _takes_args(handler: Callable[..., Any]) -> bool:
    """Whether a handler accepts ``(ctx, args)`` rather than ``(ctx)``."""
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in positional)


def _args_validator(args: Any) -> ObjectValidator | Validator | None:
    if args is None or isinstance(args, Validator):
        return args
    if isinstance(args, Mapping):
        return v.object(dict(args))
    raise TypeError(f"args must be a dict of validators or a validator, got {args!r}")


def _decorator(kind: FunctionKind, internal: bool) -> Any:
    @overload
    def declare(handler: Callable[..., Any], /) -> FunctionDefinition: ...
    @overload
    def declare(
        *, args: Any = None, returns: Validator | None = None
    ) -> Callable[[Callable[..., Any]], FunctionDefinition]: ...

    def declare(
        handler: Callable[..., Any] | None = None,
        /,
        *,
        args: Any = None,
        returns: Validator | None = None,
        handler_: Callable[..., Any] | None = None,
    ) -> Any:
        def wrap(function: Callable[..., Any]) -> FunctionDefinition:
            if not callable(function):
                raise TypeError(f"{kind.value} handler must be callable, got {function!r}")
            return FunctionDefinition(kind, function, _args_validator(args), returns, internal)

        if handler is not None:
            return wrap(handler)
        return wrap

    declare.__name__ = ("internal_" if internal else "") + kind.value
    declare.__doc__ = (
        f"Declare {'an internal' if internal else 'a public'} {kind.value}: "
        f"use as ``@{declare.__name__}`` or ``@{declare.__name__}(args=..., returns=...)``."
    )
    return declare


query = _decorator(FunctionKind.QUERY, False)
mutation = _decorator(FunctionKind.MUTATION, False)
action = _decorator(FunctionKind.ACTION, False)
internal_query = _decorator(FunctionKind.QUERY, True)
internal_mutation = _decorator(FunctionKind.MUTATION, True)
internal_action = _decorator(FunctionKind.ACTION, True)


class Registry:
    """Every function of an app, by canonical path."""

    def __init__(self, functions: Mapping[str, FunctionDefinition] | None = None) -> None:
        self._functions: dict[str, FunctionDefinition] = {}
        self._paths: dict[int, str] = {}
        for path, definition in (functions or {}).items():
            self.add(path, definition)

    @classmethod
    def from_modules(cls, modules: Mapping[str, ModuleType | Any]) -> Registry:
        """Register every function defined in each module, keyed by module path.

        Args:
            modules: module path (``"messages"``, ``"foo/bar"``) to module object.
        """
        registry = cls()
        for module_path, module in modules.items():
            for name, value in _public_attributes(module):
                if isinstance(value, FunctionDefinition):
                    registry.add(f"{module_path}:{name}", value)
        return registry

    def add(self, path: str, definition: FunctionDefinition) -> None:
        """Register ``definition`` at ``path``.

        Raises:
            ValueError: a function is already registered there.
        """
        path = canonical_path(path)
        if path in self._functions:
            raise ValueError(f"Two functions are registered at {path}")
        self._functions[path] = replace(definition, path=path)
        self._paths[id(definition)] = path

    def path_of(self, definition: FunctionDefinition) -> str | None:
        """The path a definition object was registered under (for direct references)."""
        return definition.path or self._paths.get(id(definition))

    def get(self, path: str) -> FunctionDefinition | None:
        """The function at ``path`` (any accepted spelling), or None."""
        try:
            return self._functions.get(canonical_path(path))
        except ValueError:
            return None

    def resolve(self, path: str, *, allow_internal: bool) -> FunctionDefinition:
        """The function at ``path``, refusing internal ones unless allowed.

        Raises:
            FunctionNotFoundError: with Convex's message for a client call.
        """
        definition = self.get(path)
        if definition is None or (definition.internal and not allow_internal):
            shown = canonical_path(path) if _valid(path) else path
            raise FunctionNotFoundError(
                f"Could not find public function for '{shown}'. Did you forget to run "
                "`npx convex dev`?"
            )
        return definition

    def __iter__(self) -> Iterable[str]:
        return iter(sorted(self._functions))

    def items(self) -> Iterable[tuple[str, FunctionDefinition]]:
        """Every ``(path, definition)``, sorted by path."""
        return sorted(self._functions.items())

    def __len__(self) -> int:
        return len(self._functions)


def _valid(path: str) -> bool:
    try:
        canonical_path(path)
    except ValueError:
        return False
    return True


def _public_attributes(module: Any) -> Iterable[tuple[str, Any]]:
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        yield name, getattr(module, name)
