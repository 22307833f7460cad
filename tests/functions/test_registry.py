"""Decorators and the registry (functions/registry.py)."""

from __future__ import annotations

import types
from typing import Any

import pytest

from pyconvex import action, internal_mutation, mutation, query, v
from pyconvex.errors import FunctionNotFoundError
from pyconvex.functions.registry import FunctionKind, Registry
from pyconvex.values.validators import ObjectValidator


def test_decorators_with_and_without_options() -> None:
    @query
    def bare(ctx: Any) -> None: ...

    @mutation(args={"a": v.string()}, returns=v.null())
    async def full(ctx: Any, args: dict[str, Any]) -> None: ...

    assert bare.kind is FunctionKind.QUERY and bare.args is None and not bare.takes_args
    assert full.kind is FunctionKind.MUTATION and isinstance(full.args, ObjectValidator)
    assert full.takes_args and full.is_async and not bare.is_async
    assert action(lambda ctx, args: None).kind is FunctionKind.ACTION


def test_registry_paths_and_visibility() -> None:
    module = types.ModuleType("messages")
    module.list = query(lambda ctx: [])  # type: ignore[attr-defined]
    module.addReaction = mutation(lambda ctx, args: None)  # type: ignore[attr-defined]
    module.purge = internal_mutation(lambda ctx: None)  # type: ignore[attr-defined]
    module.helper = lambda: None  # type: ignore[attr-defined]
    registry = Registry.from_modules({"messages": module})
    assert [path for path, _ in registry.items()] == [
        "messages:addReaction",
        "messages:list",
        "messages:purge",
    ]
    assert registry.get("messages.js:list") is not None
    assert registry.path_of(module.list) == "messages:list"  # type: ignore[attr-defined]
    assert registry.resolve("messages:purge", allow_internal=True).internal
    with pytest.raises(
        FunctionNotFoundError, match="Could not find public function for 'messages:purge'"
    ):
        registry.resolve("messages:purge", allow_internal=False)
    with pytest.raises(ValueError, match="Two functions"):
        registry.add("messages:list", module.list)  # type: ignore[attr-defined]
