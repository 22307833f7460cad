"""What a function takes and returns, as validators, for the code generators.

Every generator (TypeScript, the Python client) works from validators only:

* :func:`function_shape` gives a function's argument and return validators:
  its ``args``/``returns`` validators, and, where there is no ``returns``
  validator, one derived from the handler's return annotation
  (:func:`annotation_validator`: ``str`` → ``v.string()``, ``list[X]`` →
  ``v.array(X)``, a ``TypedDict`` → ``v.object``, ``Any`` → ``v.any()``...).
* :class:`Documents` knows each table's document validator (its fields plus
  ``_id`` and ``_creationTime``) so generators can name a document type
  (``Doc<"users">``) instead of spelling it out, including an object that
  adds fields to a document (``{...message, user}``).
"""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, Literal, NewType, Union, get_args, get_origin

from pyconvex.database.schema import Schema, document_validator
from pyconvex.errors import SchemaError
from pyconvex.functions.registry import FunctionDefinition, FunctionKind
from pyconvex.values.model import Int64
from pyconvex.values.validators import (
    AnyValidator,
    ObjectValidator,
    Validator,
    v,
)

__all__ = [
    "NO_ARGS",
    "Documents",
    "FunctionShape",
    "annotation_validator",
    "function_shape",
    "function_shapes",
]

#: The arguments of a handler that takes none (``def f(ctx)``): an empty object.
NO_ARGS: typing.Final = v.object({})


@dataclasses.dataclass(frozen=True)
class FunctionShape:
    """One function as the generators see it.

    Attributes:
        path: the canonical path (``messages:list``).
        module: the module path split on ``/`` (``("messages",)``).
        name: the function's name in its module (``list``).
        kind: query, mutation or action.
        internal: whether only other functions may call it.
        args: the arguments' validator (None: any arguments).
        returns: the result's validator (``v.any()`` when nothing is known).
        summary: the first paragraph of the handler's docstring ("" without one).
    """

    path: str
    module: tuple[str, ...]
    name: str
    kind: FunctionKind
    internal: bool
    args: Validator | None
    returns: Validator
    summary: str = ""


def function_shapes(items: Iterable[tuple[str, FunctionDefinition]]) -> list[FunctionShape]:
    """The shapes of ``(path, definition)`` pairs (a registry's ``items()``), in path order."""
    ordered = sorted(items, key=lambda item: item[0])
    return [function_shape(path, definition) for path, definition in ordered]


def function_shape(path: str, definition: FunctionDefinition) -> FunctionShape:
    """Argument and return validators of one registered function."""
    module, _, name = path.partition(":")
    if definition.args is not None:
        args: Validator | None = definition.args
    elif not definition.takes_args:
        args = NO_ARGS
    else:
        args = None
    returns = definition.returns
    if returns is None:
        returns = _annotated_return(definition.handler)
    return FunctionShape(
        path=path,
        module=tuple(module.split("/")),
        name=name,
        kind=definition.kind,
        internal=definition.internal,
        args=args,
        returns=returns,
        summary=_summary(definition.handler),
    )


def _summary(handler: Callable[..., Any]) -> str:
    doc = inspect.getdoc(handler) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def _annotated_return(handler: Callable[..., Any]) -> Validator:
    try:
        hints = typing.get_type_hints(handler)
    except Exception:  # an annotation naming something undefined: nothing is known
        return v.any()
    if "return" not in hints:
        return v.any()
    return annotation_validator(hints["return"])


# --------------------------------------------------------------------------- annotations


_SEQUENCES = (list, tuple, set, frozenset, abc.Sequence, abc.Iterable, abc.Collection, abc.Set)
_MAPPINGS = (dict, abc.Mapping, abc.MutableMapping)
_AWAITABLES = (abc.Awaitable, abc.Coroutine)


def annotation_validator(annotation: Any) -> Validator:
    """The validator matching the values a Python annotation describes, as a Convex value.

    ``int`` and ``float`` are float64 (a plain ``int`` travels as a float64 in
    pyconvex), :class:`~pyconvex.Int64` is int64, ``X | None`` is a union with
    ``v.null()``, a ``TypedDict`` is an object (``NotRequired`` keys optional),
    ``Literal[...]`` literals, ``Awaitable[X]`` is X. Whatever has no Convex
    counterpart (``Any``, ``object``, classes) is ``v.any()``.
    """
    return _annotation(annotation, frozenset())


def _annotation(annotation: Any, seen: frozenset[int]) -> Validator:
    simple = _simple_annotation(annotation)
    if simple is not None:
        return simple
    if isinstance(annotation, NewType):
        return _annotation(annotation.__supertype__, seen)
    if typing.is_typeddict(annotation):
        return _typed_dict(annotation, seen)
    origin, params = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return _literals(params)
    if origin is Union or origin is types.UnionType:
        return _union([_annotation(p, seen) for p in params])
    if origin in _AWAITABLES and params:
        return _annotation(params[-1], seen)
    if origin in _SEQUENCES:
        if origin is tuple and not (len(params) == 2 and params[1] is Ellipsis):
            members = {_annotation(p, seen) for p in params}
            element = members.pop() if len(members) == 1 else _union(sorted(members, key=repr))
            return v.array(element)
        return v.array(_annotation(params[0], seen) if params else v.any())
    if origin in _MAPPINGS:
        if len(params) == 2 and params[0] is str:
            return v.record(v.string(), _required(_annotation(params[1], seen)))
        return v.record(v.string(), v.any())
    if origin is typing.Annotated:
        return _annotation(params[0], seen)
    return v.any()


def _simple_annotation(annotation: Any) -> Validator | None:
    if annotation is None or annotation is type(None):
        return v.null()
    if annotation is str:
        return v.string()
    if annotation is bool:
        return v.boolean()
    if annotation in (int, float):
        return v.number()
    if annotation is Int64:
        return v.int64()
    if annotation in (bytes, bytearray, memoryview):
        return v.bytes()
    if annotation in (list, tuple, set, frozenset):
        return v.array(v.any())
    if annotation in (dict,):
        return v.record(v.string(), v.any())
    return None


def _literals(values: tuple[Any, ...]) -> Validator:
    members: list[Validator] = []
    for value in values:
        if value is None:
            members.append(v.null())
        elif isinstance(value, (str, bool, int, float)):
            try:
                members.append(v.literal(value))
            except TypeError:  # an int beyond float64's exact range
                members.append(v.number())
        else:  # an Enum member or similar: no Convex literal
            return v.any()
    return _union(members)


def _union(members: list[Validator]) -> Validator:
    if any(isinstance(member, AnyValidator) for member in members):
        return v.any()
    unique = list(dict.fromkeys(members))
    return unique[0] if len(unique) == 1 else v.union(*unique)


def _required(validator: Validator) -> Validator:
    # Only object fields may be optional; anywhere else the flag must go.
    return validator._as_required()


def _typed_dict(annotation: Any, seen: frozenset[int]) -> Validator:
    if id(annotation) in seen:  # a recursive TypedDict: no finite validator
        return v.any()
    seen = seen | {id(annotation)}
    try:
        hints = typing.get_type_hints(annotation, include_extras=True)
    except Exception:
        return v.any()
    # With postponed annotations TypedDict cannot see NotRequired[...] itself
    # (``__optional_keys__`` misses it), so the wrappers are read here.
    optional_keys: frozenset[str] = getattr(annotation, "__optional_keys__", frozenset())
    total = bool(getattr(annotation, "__total__", True))
    fields: dict[str, Validator] = {}
    for name, hint in hints.items():
        qualifier = _qualifier(hint)
        optional = qualifier == "NotRequired" or (
            qualifier != "Required" and (name in optional_keys or not total)
        )
        field = _annotation(_strip_qualifiers(hint), seen)
        fields[name] = v.optional(field) if optional else field
    try:
        return v.object(fields)
    except SchemaError:  # a key that is not a Convex field name
        return v.object({}) if not fields else v.any()


_QUALIFIERS = ("Required", "NotRequired", "ReadOnly", "Annotated")


def _qualifier(hint: Any) -> str | None:
    name = getattr(get_origin(hint), "_name", None)
    if name in ("Required", "NotRequired"):
        return str(name)
    if name in _QUALIFIERS:
        return _qualifier(get_args(hint)[0])
    return None


def _strip_qualifiers(hint: Any) -> Any:
    while (
        get_origin(hint) is typing.Annotated
        or getattr(get_origin(hint), "_name", None) in _QUALIFIERS
    ):
        hint = get_args(hint)[0]
    return hint


# --------------------------------------------------------------------------- documents


class Documents:
    """The document validator of every table of a schema, for naming document types."""

    def __init__(self, schema: Schema | None) -> None:
        tables = schema.tables if schema is not None else {}
        self.validators: dict[str, Validator] = {
            name: document_validator(name, table.validator)
            for name, table in sorted(tables.items())
        }
        self._by_key = {
            validator: name
            for name, validator in self.validators.items()
            if not isinstance(validator, AnyValidator)
        }

    def table_of(self, validator: Validator) -> str | None:
        """The table whose documents are exactly ``validator`` (optional flag ignored), if any."""
        return self._by_key.get(_required(validator))

    def extended(self, validator: ObjectValidator) -> tuple[str, dict[str, Validator]] | None:
        """``(table, extra fields)`` when ``validator`` is a table's document plus more fields."""
        fields = validator.fields
        best: tuple[str, dict[str, Validator]] | None = None
        for name, document in self.validators.items():
            if not isinstance(document, ObjectValidator):
                continue
            if all(fields.get(key) == field for key, field in document.fields.items()):
                extra = {k: f for k, f in fields.items() if k not in document.fields}
                if best is None or len(extra) < len(best[1]):
                    best = (name, extra)
        return best
