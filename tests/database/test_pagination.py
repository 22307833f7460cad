"""Pagination validators (database/pagination.py), with the built-in indexes."""

from __future__ import annotations

from typing import Any

import pytest

from pyconvex import pagination_opts_validator, pagination_result_validator, query, v
from pyconvex.errors import ValidationError
from pyconvex.testing import ConvexTest


def test_the_options_the_official_hook_sends_are_accepted() -> None:
    sent = {"numItems": 10, "cursor": None, "id": 3, "endCursor": "abc", "maximumRowsRead": 50}
    checked = pagination_opts_validator.validate(sent)
    assert checked["numItems"] == 10.0 and checked["endCursor"] == "abc"
    with pytest.raises(ValidationError):
        pagination_opts_validator.validate({"numItems": 10})  # cursor is required
    with pytest.raises(ValidationError):
        pagination_opts_validator.validate({"numItems": 1, "cursor": None, "bogus": 1})


@query(
    args={"paginationOpts": pagination_opts_validator},
    returns=pagination_result_validator(
        v.object({"n": v.number(), "_id": v.id("t"), "_creationTime": v.number()})
    ),
)
async def page(ctx: Any, args: dict[str, Any]) -> Any:
    return await ctx.db.query("t").with_index("by_creation_time").paginate(args["paginationOpts"])


@query(args={"id": v.id("t")})
async def by_id(ctx: Any, args: dict[str, Any]) -> Any:
    return await ctx.db.query("t").with_index("by_id", lambda q: q.eq("_id", args["id"])).unique()


@query(args={"after": v.number()})
async def created_after(ctx: Any, args: dict[str, Any]) -> Any:
    rows = ctx.db.query("t").with_index(
        "by_creation_time", lambda q: q.gt("_creationTime", args["after"])
    )
    return [row["n"] for row in await rows.collect()]


@query
async def bad_page(ctx: Any) -> Any:
    result = await ctx.db.query("t").paginate({"numItems": 1, "cursor": None})
    return {**result, "extra": 1}


async def test_paginated_function_with_validators_and_builtin_indexes() -> None:
    import sys

    async with ConvexTest(modules={"p": sys.modules[__name__]}) as t:

        async def fill(ctx: Any) -> list[str]:
            return [await ctx.db.insert("t", {"n": n}) for n in range(3)]

        ids = await t.run(fill)
        result = await t.query("p:page", {"paginationOpts": {"numItems": 2, "cursor": None}})
        assert [row["n"] for row in result["page"]] == [0.0, 1.0]
        assert (await t.query("p:by_id", {"id": ids[1]}))["n"] == 1.0
        first = result["page"][0]["_creationTime"]
        assert await t.query("p:created_after", {"after": first}) == [1.0, 2.0]
        with pytest.raises(ValidationError, match="extra field `extra`"):
            pagination_result_validator(v.any()).validate(await t.query("p:bad_page"))
