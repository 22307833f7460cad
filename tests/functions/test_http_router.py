"""Routing HTTP requests to HTTP actions (functions/http_router.py) and loading http.py."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from pyconvex.errors import PyConvexError
from pyconvex.functions.http_router import (
    HttpActionDefinition,
    HttpRouter,
    http_action,
    http_router,
)
from pyconvex.functions.loader import load_app


@http_action
async def first(ctx: Any, request: Any) -> None:
    return None


@http_action
def second(ctx: Any, request: Any) -> None:
    return None


def test_the_decorator_makes_a_definition_and_notes_sync_handlers() -> None:
    assert isinstance(first, HttpActionDefinition) and first.is_async
    assert not second.is_async
    assert http_action(first) is first  # wrapping twice changes nothing
    assert first.name == "first"
    with pytest.raises(TypeError, match="must be callable"):
        http_action(42)  # type: ignore[arg-type]


def test_an_exact_path_wins_over_any_prefix() -> None:
    router = http_router()
    router.route(path_prefix="/files/", method="GET", handler=first)
    router.route(path="/files/special", method="GET", handler=second)
    assert router.lookup("GET", "/files/special") == (second, router.routes()[0])
    match = router.lookup("GET", "/files/other")
    assert match is not None and match[0] is first and str(match[1]) == "GET /files/*"


def test_the_longest_matching_prefix_wins() -> None:
    router = http_router()
    router.route(path_prefix="/a/", method="GET", handler=first)
    router.route(path_prefix="/a/b/", method="GET", handler=second)
    assert _handler(router, "GET", "/a/b/c") is second
    assert _handler(router, "GET", "/a/b/") is second
    assert _handler(router, "GET", "/a/bc") is first
    assert _handler(router, "GET", "/a/") is first
    assert router.lookup("GET", "/a") is None  # a prefix ends with its slash


def test_exact_paths_match_exactly_and_methods_are_separate() -> None:
    router = http_router()
    router.route(path="/profile", method="GET", handler=first)
    router.route(path="/profile", method="POST", handler=second)
    assert _handler(router, "GET", "/profile") is first
    assert _handler(router, "POST", "/profile") is second
    assert router.lookup("GET", "/profile/") is None
    assert router.lookup("PUT", "/profile") is None
    assert router.lookup("GET", "/profil") is None


def test_head_is_routed_as_get() -> None:
    router = http_router()
    router.route(path="/x", method="GET", handler=first)
    match = router.lookup("HEAD", "/x")
    assert match is not None and match[0] is first and match[1].method == "GET"


def test_routes_are_listed_like_convex_get_routes() -> None:
    router = HttpRouter()
    router.route(path_prefix="/p/", method="POST", handler=first)
    router.route(path="/b", method="GET", handler=first)
    router.route(path="/a", method="POST", handler=first)
    router.route(path="/a", method="GET", handler=first)
    router.route(path_prefix="/p/", method="GET", handler=first)
    assert [str(r) for r in router] == ["GET /a", "POST /a", "GET /b", "GET /p/*", "POST /p/*"]
    assert len(router) == 5
    assert "GET /a" in repr(router)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"path": "/x", "method": "HEAD"}, "'HEAD' is not an allowed HTTP method"),
        ({"path": "/x", "method": "get"}, "'get' is not an allowed HTTP method"),
        ({"path": "/x", "method": ""}, "route requires method"),
        ({"path": "x", "method": "GET"}, "path 'x' does not start with a /"),
        ({"path": "/.files", "method": "GET"}, "path '/.files' is reserved"),
        ({"path": "/.files/a", "method": "GET"}, "path '/.files/a' is reserved"),
        ({"path_prefix": "x/", "method": "GET"}, "path_prefix 'x/' does not start with a /"),
        ({"path_prefix": "/x", "method": "GET"}, "path_prefix /x must end with a /"),
        ({"path_prefix": "/.files/", "method": "GET"}, "path_prefix '/.files/' is reserved"),
        (
            {"path": "/x", "path_prefix": "/x/", "method": "GET"},
            "cannot contain both 'path' and 'path_prefix'",
        ),
        ({"method": "GET"}, "must contain either field 'path' or 'path_prefix'"),
    ],
)
def test_invalid_routes_are_refused_with_convex_messages(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        http_router().route(handler=first, **spec)
    assert message in str(raised.value)


def test_a_route_can_be_taken_once() -> None:
    router = http_router()
    router.route(path="/x", method="GET", handler=first)
    router.route(path_prefix="/x/", method="GET", handler=first)
    with pytest.raises(ValueError, match="Path '/x' for method GET already in use"):
        router.route(path="/x", method="GET", handler=second)
    with pytest.raises(ValueError, match="GET path_prefix /x/ is already defined"):
        router.route(path_prefix="/x/", method="GET", handler=second)


def test_the_handler_must_be_an_http_action() -> None:
    with pytest.raises(ValueError, match="route requires handler"):
        http_router().route(path="/x", method="GET", handler=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="decorate it with @http_action"):
        http_router().route(path="/x", method="GET", handler=lambda ctx, request: None)  # type: ignore[arg-type]


def test_load_app_finds_the_router_of_http_py(tmp_path: Path) -> None:
    app = tmp_path / "convex"
    _write(
        app / "http.py",
        """
        from pyconvex.functions.http_router import http_router
        from .handlers import hello

        http = http_router()
        http.route(path="/hello", method="GET", handler=hello)
        """,
    )
    _write(
        app / "handlers.py",
        """
        from pyconvex.functions.http_router import http_action

        @http_action
        async def hello(ctx, request):
            return "hi"
        """,
    )
    loaded = load_app(app)
    assert loaded.http_router is not None and [str(r) for r in loaded.http_router] == ["GET /hello"]
    assert len(loaded.registry) == 0  # an HTTP action is not a function with a path


def test_load_app_accepts_default_and_refuses_a_module_without_a_router(tmp_path: Path) -> None:
    app = tmp_path / "convex"
    _write(
        app / "http.py",
        "from pyconvex.functions.http_router import http_router\ndefault = http_router()\n",
    )
    assert load_app(app).http_router is not None
    _write(app / "http.py", "http = 1\n")
    with pytest.raises(PyConvexError, match="must define its router"):
        load_app(app)
    (app / "http.py").unlink()
    assert load_app(app).http_router is None


def _handler(router: HttpRouter, method: str, path: str) -> HttpActionDefinition:
    match = router.lookup(method, path)
    assert match is not None, f"{method} {path} did not match"
    return match[0]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
