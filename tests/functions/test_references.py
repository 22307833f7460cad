"""Function paths and references (functions/references.py)."""

from __future__ import annotations

import pytest

from pyconvex.functions.references import (
    FunctionReference,
    api,
    canonical_path,
    function_path,
    internal,
)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("messages:list", "messages:list"),
        ("messages", "messages:default"),
        ("messages.js:list", "messages:list"),
        ("messages.py:list", "messages:list"),
        ("foo/bar:fn", "foo/bar:fn"),
        ("foo/bar.js", "foo/bar:default"),
    ],
)
def test_canonical_paths(written: str, canonical: str) -> None:
    assert canonical_path(written) == canonical


def test_bad_paths() -> None:
    for bad in ("", "a:b:c"):
        with pytest.raises(ValueError):
            canonical_path(bad)


def test_api_objects_build_references() -> None:
    assert function_path(api.messages.list) == "messages:list"
    assert function_path(internal.foo.bar.categorizePending) == "foo/bar:categorizePending"
    assert function_path(FunctionReference("tasks")) == "tasks:default"
    with pytest.raises(TypeError):
        function_path(42)
