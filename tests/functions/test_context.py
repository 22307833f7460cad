"""The ctx objects (functions/context.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from pyconvex import UNDEFINED, define_schema, define_table, mutation, query, v
from pyconvex.errors import DocumentError, SchemaValidationError
from pyconvex.functions.context import UserIdentity
from pyconvex.testing import ConvexTest

schema = define_schema({"users": define_table({"name": v.string()}), "posts": define_table({})})


@mutation
async def table_first(ctx: Any) -> dict[str, Any]:
    user = await ctx.db.insert("users", {"name": "ada"})
    post = await ctx.db.insert("posts", {})
    await ctx.db.patch("users", user, {"name": "grace"})
    errors = []
    try:
        await ctx.db.get("posts", user)
    except DocumentError as error:
        errors.append(str(error))
    fetched = await ctx.db.get("users", user)
    return {
        "name": fetched["name"],
        "errors": errors,
        "normalized": ctx.db.normalize_id("users", user),
        "wrong_table": ctx.db.normalize_id("posts", user),
        "garbage": ctx.db.normalize_id("users", "nope"),
        "post": post,
    }


@query
async def who(ctx: Any) -> Any:
    identity = await ctx.auth.get_user_identity()
    return None if identity is None else [identity.token_identifier, identity["email"]]


@mutation
async def remove_field(ctx: Any) -> Any:
    user = await ctx.db.insert("users", {"name": "x"})
    try:
        await ctx.db.patch(user, {"name": UNDEFINED})  # name is required by the schema
    except SchemaValidationError:
        pass
    return await ctx.db.get(user)


@pytest.fixture
async def t() -> AsyncIterator[ConvexTest]:
    import sys

    harness = ConvexTest(schema, {"ctx": sys.modules[__name__]})
    yield harness
    harness.close()


async def test_table_first_forms_and_normalize_id(t: ConvexTest) -> None:
    result = await t.mutation("ctx:table_first")
    assert result["name"] == "grace"
    assert "expected ID in table 'posts' but got ID in table 'users'" in result["errors"][0]
    assert result["normalized"] is not None
    assert result["wrong_table"] is None and result["garbage"] is None


async def test_identity(t: ConvexTest) -> None:
    assert await t.query("ctx:who") is None
    signed_in = t.with_identity({"issuer": "https://auth", "subject": "u1", "email": "a@b.c"})
    assert await signed_in.query("ctx:who") == ["https://auth|u1", "a@b.c"]
    identity = UserIdentity({"tokenIdentifier": "x|y", "givenName": "Ada"})
    assert identity.given_name == "Ada" and dict(identity)["tokenIdentifier"] == "x|y"


async def test_a_failed_write_inside_a_mutation_leaves_the_document(t: ConvexTest) -> None:
    document = await t.mutation("ctx:remove_field")
    assert document["name"] == "x"
