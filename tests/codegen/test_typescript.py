"""TypeScript codegen: api.js, api.d.ts and dataModel.d.ts (codegen/typescript.py).

These check the text; tests/codegen/test_tsc.py compiles it with the TypeScript compiler.
"""

from __future__ import annotations

from typing import Any

import pytest

from pyconvex import Int64, define_schema, define_table, internal_query, mutation, query, v
from pyconvex.codegen.shapes import Documents, function_shapes
from pyconvex.codegen.typescript import (
    TypeRenderer,
    generate_api_dts,
    generate_api_js,
    generate_data_model_dts,
)
from pyconvex.functions.registry import Registry
from pyconvex.values.validators import Validator

SCHEMA = define_schema(
    {
        "users": define_table({"name": v.string(), "tags": v.record(v.string(), v.number())})
        .index("by_name", ["name"])
        .search_index("search_name", search_field="name", filter_fields=["tags"])
        .vector_index("by_embedding", vector_field="tags", dimensions=3),
        "messages": define_table(
            {
                "author": v.id("users"),
                "body": v.object({"text": v.string(), "file": v.optional(v.id("_storage"))}),
            }
        ),
    }
)

RETURNS = TypeRenderer(documents=Documents(SCHEMA), loose_ids=False)
ARGS = TypeRenderer(documents=None, loose_ids=True)


@pytest.mark.parametrize(
    ("validator", "expected"),
    [
        (v.string(), "string"),
        (v.number(), "number"),
        (v.int64(), "bigint"),
        (v.boolean(), "boolean"),
        (v.null(), "null"),
        (v.bytes(), "ArrayBuffer"),
        (v.any(), "any"),
        (v.literal('a"b'), '"a\\"b"'),
        (v.literal(5), "5"),
        (v.literal(0.5), "0.5"),
        (v.literal(-0.0), "0"),
        (v.literal(float("nan")), "number"),
        (v.literal(Int64(-3)), "-3n"),
        (v.literal(True), "true"),
        (v.array(v.id("users")), 'Array<Id<"users">>'),
        (v.record(v.id("users"), v.boolean()), 'Record<Id<"users">, boolean>'),
        (v.union(), "never"),
        (v.union(v.string(), v.string(), v.null()), "string | null"),
        (v.object({}), "{}"),
        (v.object({"a": v.string(), "b": v.optional(v.number())}), "{ a: string; b?: number }"),
    ],
)
def test_validators_become_types(validator: Validator, expected: str) -> None:
    assert RETURNS.render(validator) == expected


def test_argument_ids_also_take_plain_strings() -> None:
    assert ARGS.render(v.id("users")) == 'Id<"users"> | string'
    assert ARGS.render(SCHEMA.doc("users")).startswith("{")  # no Doc<> names in arguments


def test_documents_are_named_and_extended() -> None:
    user = SCHEMA.doc("users")
    assert RETURNS.render(user) == 'Doc<"users">'
    assert RETURNS.render(v.union(user, v.null())) == 'Doc<"users"> | null'
    joined = SCHEMA.doc("messages").extend({"user": v.union(user, v.null())})
    assert RETURNS.render(joined) == 'Doc<"messages"> & { user: Doc<"users"> | null }'
    # Inside a union, an intersection is parenthesized.
    assert RETURNS.render(v.union(joined, v.null())) == (
        '(Doc<"messages"> & { user: Doc<"users"> | null }) | null'
    )


def test_long_objects_span_lines() -> None:
    fields = {f"field{n}": v.string() for n in range(8)}
    rendered = RETURNS.render(v.object(fields), 2)
    assert rendered.startswith("{\n    field0: string;\n")
    assert rendered.endswith("    field7: string;\n  }")


def _registry() -> Registry:
    @query(args={"id": v.id("users")}, returns=v.union(SCHEMA.doc("users"), v.null()))
    def get(ctx: Any, args: Any) -> Any:
        """One user, or ``None``. Mind the */ in here."""

    @mutation
    def touch(ctx: Any) -> None:
        pass

    @internal_query
    def secret(ctx: Any, args: Any) -> int:
        return 1

    registry = Registry()
    registry.add("users:get", get)
    registry.add("admin/tools:touch", touch)
    registry.add("users:secret", secret)
    registry.add("my-module:touch", touch)
    return registry


def test_api_dts_types_every_reference_by_visibility() -> None:
    text = generate_api_dts(function_shapes(_registry().items()), SCHEMA)
    assert text.startswith("/* eslint-disable */\n/**\n * Generated `api` utility.")
    assert "THIS CODE IS AUTOMATICALLY GENERATED" in text
    assert 'import type { FunctionReference } from "convex/server";' in text
    assert 'import type { Doc, Id } from "./dataModel.js";' in text
    api, internal = text.split("export declare const internal:")
    assert "    /** One user, or `None`. Mind the *\\/ in here. */\n" in api
    assert (
        '    get: FunctionReference<"query", "public", { id: Id<"users"> | string }, '
        'Doc<"users"> | null>;'
    ) in api
    # Nested modules nest; a handler without args takes an empty object.
    assert (
        '  admin: {\n    tools: {\n      touch: FunctionReference<"mutation", "public", '
        "Record<string, never>, null>;\n    };\n  };"
    ) in api
    assert '  "my-module": {' in api
    assert "secret" not in api
    assert 'secret: FunctionReference<"query", "internal", any, number>;' in internal
    assert generate_api_dts([], None).count(": {};") == 2


def test_api_js_is_convex_any_api() -> None:
    text = generate_api_js()
    assert 'import { anyApi } from "convex/server";' in text
    assert "export const api = anyApi;" in text and "export const internal = anyApi;" in text


def test_data_model_declares_documents_and_indexes() -> None:
    text = generate_data_model_dts(SCHEMA)
    assert text.startswith("/* eslint-disable */")
    assert "export type Doc<TableName extends TableNames> = DocumentByName<" in text
    users = text[text.index("  users: {") :]
    assert '_id: Id<"users">;' in users and "_creationTime: number;" in users
    assert 'by_name: ["name", "_creationTime"];' in users
    assert 'by_id: ["_id"];' in users
    assert 'search_name: {\n        searchField: "name";\n        filterFields: "tags";' in users
    assert 'vectorField: "tags";\n        dimensions: number;' in users
    assert '"tags" | `tags.${string}`' in users
    messages = text[text.index("  messages: {") : text.index("  users: {")]
    assert '"body.file" | "body.text"' in messages
    assert "searchIndexes: {};" in messages and "vectorIndexes: {};" in messages
    assert "& AnyDataModel" not in text


def test_data_model_without_a_schema_or_validation_is_permissive() -> None:
    assert "export type DataModel = AnyDataModel;" in generate_data_model_dts(None)
    loose = define_schema({"t": define_table({"a": v.string()})}, schema_validation=False)
    assert "} & AnyDataModel;" in generate_data_model_dts(loose)
