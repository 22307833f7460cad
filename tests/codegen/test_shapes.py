"""What the generators know of a function: argument and return validators (codegen/shapes.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, Literal, NewType, NotRequired, TypedDict

import pytest

from pyconvex import Int64, define_schema, define_table, mutation, query, v
from pyconvex.codegen.shapes import (
    NO_ARGS,
    Documents,
    annotation_validator,
    function_shape,
    function_shapes,
)
from pyconvex.functions.registry import FunctionKind, Registry

UserId = NewType("UserId", str)


class Author(TypedDict):
    name: str
    age: NotRequired[int]


class Tree(TypedDict):
    children: list[Tree]


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, v.string()),
        (int, v.number()),
        (float, v.number()),
        (bool, v.boolean()),
        (None, v.null()),
        (bytes, v.bytes()),
        (Int64, v.int64()),
        (Any, v.any()),
        (object, v.any()),
        (UserId, v.string()),
        (list[str], v.array(v.string())),
        (Sequence[int], v.array(v.number())),
        (tuple[str, ...], v.array(v.string())),
        (tuple[str, str], v.array(v.string())),
        (dict[str, bool], v.record(v.string(), v.boolean())),
        (dict[int, bool], v.record(v.string(), v.any())),
        (str | None, v.union(v.string(), v.null())),
        (str | Any, v.any()),
        (Literal["a", "b"], v.union(v.literal("a"), v.literal("b"))),
        (Literal[5], v.literal(5)),
        (Awaitable[str], v.string()),
        (Author, v.object({"name": v.string(), "age": v.optional(v.number())})),
        (Tree, v.object({"children": v.array(v.any())})),
    ],
)
def test_annotations_become_validators(annotation: Any, expected: Any) -> None:
    assert annotation_validator(annotation) == expected


def test_returns_validator_wins_over_the_annotation_which_beats_nothing() -> None:
    @query(args={"n": v.number()}, returns=v.array(v.string()))
    def declared(ctx: Any, args: Any) -> int:
        """Declared.

        More text that is not the summary.
        """
        return 0

    @mutation
    async def annotated(ctx: Any) -> list[str]:
        return []

    @mutation
    def bare(ctx, args):  # type: ignore[no-untyped-def]
        return None

    @query
    def broken(ctx: Any) -> NotDefinedAnywhere:  # type: ignore[name-defined]  # noqa: F821
        return None

    shape = function_shape("tasks:declared", declared)
    assert (shape.module, shape.name, shape.kind) == (("tasks",), "declared", FunctionKind.QUERY)
    assert shape.args == v.object({"n": v.number()})
    assert shape.returns == v.array(v.string())
    assert shape.summary == "Declared."
    assert function_shape("a/b:annotated", annotated).returns == v.array(v.string())
    assert function_shape("a/b:annotated", annotated).module == ("a", "b")
    # A handler without args takes none; one that takes args without a validator takes any.
    assert function_shape("a:annotated", annotated).args == NO_ARGS
    assert function_shape("a:bare", bare).args is None
    assert function_shape("a:bare", bare).returns == v.any()
    assert function_shape("a:broken", broken).returns == v.any()


def test_function_shapes_are_in_path_order_with_visibility() -> None:
    @query
    def one(ctx: Any) -> str:
        return ""

    registry = Registry()
    registry.add("zeta:one", one)
    registry.add("alpha:one", one)
    shapes = function_shapes(registry.items())
    assert [s.path for s in shapes] == ["alpha:one", "zeta:one"]
    assert not shapes[0].internal


SCHEMA = define_schema(
    {
        "users": define_table({"name": v.string()}),
        "pets": define_table(
            v.union(
                v.object({"kind": v.literal("cat"), "lives": v.number()}),
                v.object({"kind": v.literal("dog")}),
            )
        ),
        "anything": define_table(v.any()),
    }
)


def test_documents_name_table_documents_and_extensions() -> None:
    documents = Documents(SCHEMA)
    user = SCHEMA.doc("users")
    assert user == v.object({"name": v.string(), "_id": v.id("users"), "_creationTime": v.number()})
    assert documents.table_of(user) == "users"
    assert documents.table_of(v.optional(user)) == "users"
    assert documents.table_of(v.object({"name": v.string()})) is None
    assert documents.validators["anything"] == v.any()
    assert documents.table_of(v.any()) is None
    pets = documents.validators["pets"]
    assert documents.table_of(pets) == "pets"
    joined = user.extend({"pet": v.union(pets, v.null())})
    assert documents.extended(joined) == ("users", {"pet": v.union(pets, v.null())})
    assert documents.extended(v.object({"name": v.string()})) is None
    assert Documents(None).validators == {}
