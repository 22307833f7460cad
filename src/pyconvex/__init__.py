"""pyconvex: Convex's reactive backend model, in Python.

The app-author API, as in Convex (snake_case)::

    from pyconvex import query, mutation, action, internal_mutation, v, ConvexError
    from pyconvex import define_schema, define_table
    from pyconvex import cron_jobs          # in convex/crons.py
"""

from pyconvex.database.pagination import pagination_opts_validator, pagination_result_validator
from pyconvex.database.schema import define_schema, define_table
from pyconvex.errors import ConvexError
from pyconvex.functions.cron import cron_jobs
from pyconvex.functions.env import env
from pyconvex.functions.http_router import HttpRouter, http_action, http_router
from pyconvex.functions.references import FunctionReference, api, internal
from pyconvex.functions.registry import (
    action,
    internal_action,
    internal_mutation,
    internal_query,
    mutation,
    query,
)
from pyconvex.values.model import UNDEFINED, Int64
from pyconvex.values.validators import v

__version__ = "0.1.0"

__all__ = [
    "UNDEFINED",
    "ConvexError",
    "FunctionReference",
    "HttpRouter",
    "Int64",
    "action",
    "api",
    "cron_jobs",
    "define_schema",
    "define_table",
    "env",
    "http_action",
    "http_router",
    "internal",
    "internal_action",
    "internal_mutation",
    "internal_query",
    "mutation",
    "pagination_opts_validator",
    "pagination_result_validator",
    "query",
    "v",
]
