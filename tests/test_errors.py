"""The error taxonomy (errors.py)."""

from __future__ import annotations

import pyconvex.errors as errors
from pyconvex.values.model import Int64


def test_every_pyconvex_error_has_a_distinct_short_tag() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    ours = [c for c in classes if issubclass(c, errors.PyConvexError)]
    tags = [c.short for c in ours]
    assert len(set(tags)) == len(tags)
    assert errors.OptimisticConcurrencyControlFailure.short == "OptimisticConcurrencyControlFailure"
    error = errors.QueryError("bad range")
    assert error.message == "bad range" and str(error) == "bad range"


def test_convex_error_carries_data() -> None:
    error = errors.ConvexError({"code": Int64(1)})
    assert error.data == {"code": 1}
    assert str(errors.ConvexError("plain")) == "plain"
    assert not issubclass(errors.ConvexError, errors.PyConvexError)
