"""Validators for paginated functions, as Convex's ``paginationOptsValidator``.

::

    @query(args={"channelId": v.id("channels"), "paginationOpts": pagination_opts_validator})
    async def paginated(ctx, args):
        return await ctx.db.query("messages").order("desc").paginate(args["paginationOpts"])

``pagination_opts_validator`` accepts everything the official ``usePaginatedQuery``
hook sends (``numItems``, ``cursor``, ``endCursor``, ``id``, ``maximumRowsRead``,
``maximumBytesRead``); :func:`pagination_result_validator` describes what
``paginate`` returns, for a ``returns=`` validator.
"""

from __future__ import annotations

from pyconvex.values.validators import ObjectValidator, Validator, v

__all__ = ["pagination_opts_validator", "pagination_result_validator"]

#: The ``paginationOpts`` argument of a paginated query.
pagination_opts_validator: ObjectValidator = v.object(
    {
        "numItems": v.number(),
        "cursor": v.union(v.string(), v.null()),
        "endCursor": v.optional(v.union(v.string(), v.null())),
        "id": v.optional(v.number()),
        "maximumRowsRead": v.optional(v.number()),
        "maximumBytesRead": v.optional(v.number()),
    }
)


def pagination_result_validator(item: Validator) -> ObjectValidator:
    """The shape ``paginate`` returns, with ``item`` validating each document."""
    return v.object(
        {
            "page": v.array(item),
            "continueCursor": v.string(),
            "isDone": v.boolean(),
            "splitCursor": v.optional(v.union(v.string(), v.null())),
            "pageStatus": v.optional(
                v.union(v.literal("SplitRecommended"), v.literal("SplitRequired"), v.null())
            ),
        }
    )
