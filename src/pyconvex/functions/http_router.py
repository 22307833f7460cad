"""HTTP actions and the router of ``convex/http.py``, as Convex's ``httpRouter``.

An app serves raw HTTP (webhooks, file downloads, custom APIs) by routing
requests to HTTP actions in ``convex/http.py``::

    from pyconvex import http_action, http_router, internal
    from starlette.responses import Response

    http = http_router()

    @http_action
    async def handle_webhook(ctx, request):
        body = await request.json()
        await ctx.run_mutation(internal.webhooks.record, {"body": body})
        return Response(status_code=200)

    http.route(path="/webhook", method="POST", handler=handle_webhook)
    http.route(path_prefix="/files/", method="GET", handler=serve_file)

A handler takes ``(ctx, request)``: ``ctx`` is an action's ctx (``auth``,
``run_query``, ``run_mutation``, ``run_action``, each call its own transaction)
and ``request`` a Starlette ``Request`` whose body is already read. It returns
a Starlette ``Response`` (any subclass, streaming included) or, for
convenience, a ``str`` (``text/plain``), ``bytes`` (``application/octet-stream``),
a ``dict`` or ``list`` (JSON) or ``None`` (an empty 200). Sync handlers run on a
worker thread like sync actions. The server side lives in
:mod:`pyconvex.server.http_actions`; this module is pure routing.

Matching follows Convex: an exact ``path`` wins, then the longest matching
``path_prefix``; ``HEAD`` is routed as ``GET`` (the server drops the body).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HTTP_ACTION_BODY_LIMIT",
    "ROUTABLE_HTTP_METHODS",
    "HttpActionDefinition",
    "HttpRoute",
    "HttpRouter",
    "http_action",
    "http_router",
]

#: Methods a route may name. HEAD is served by the GET route; CONNECT and TRACE never.
ROUTABLE_HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")

#: Request and response bodies of HTTP actions are limited to 20 MiB, as in Convex
#: (``HTTP_ACTION_BODY_LIMIT`` in ``crates/udf``).
HTTP_ACTION_BODY_LIMIT = 20 << 20

# Convex keeps these for its own file serving; routes may not shadow them.
_RESERVED = "/.files"


@dataclass(frozen=True)
class HttpActionDefinition:
    """A declared HTTP action: a handler taking ``(ctx, request)``.

    Not a :class:`~pyconvex.functions.registry.FunctionDefinition`: an HTTP action
    is reachable only through the router, never by function path.
    """

    handler: Callable[..., Any]
    is_async: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.handler))

    @property
    def name(self) -> str:
        """The handler's name, for messages."""
        return getattr(self.handler, "__qualname__", repr(self.handler))


def http_action(handler: Callable[..., Any] | HttpActionDefinition, /) -> HttpActionDefinition:
    """Declare an HTTP action: use as ``@http_action`` or ``http_action(function)``.

    Raises:
        TypeError: ``handler`` is not callable.
    """
    if isinstance(handler, HttpActionDefinition):
        return handler
    if not callable(handler):
        raise TypeError(f"http_action handler must be callable, got {handler!r}")
    return HttpActionDefinition(handler)


@dataclass(frozen=True)
class HttpRoute:
    """One route: a method and an exact path or a path prefix.

    Attributes:
        path: the exact path, or the prefix (starting and ending with ``/``).
        prefix: whether ``path`` is a prefix.
    """

    method: str
    path: str
    prefix: bool
    handler: HttpActionDefinition = field(compare=False)

    @property
    def pattern(self) -> str:
        """The path as Convex shows it: ``/files/*`` for a prefix."""
        return f"{self.path}*" if self.prefix else self.path

    def __str__(self) -> str:
        return f"{self.method} {self.pattern}"


class HttpRouter:
    """Routes HTTP requests to HTTP actions (Convex's ``HttpRouter``).

    Invariant: at most one handler per (method, exact path) and per
    (method, prefix).
    """

    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], HttpRoute] = {}
        self._prefixes: dict[str, dict[str, HttpRoute]] = {}

    def route(
        self,
        *,
        path: str | None = None,
        path_prefix: str | None = None,
        method: str,
        handler: HttpActionDefinition,
    ) -> None:
        """Route ``method`` requests for ``path`` (exactly) or ``path_prefix`` to ``handler``.

        ``path="/profile"`` matches ``/profile`` only; ``path_prefix="/profile/"``
        matches ``/profile/``, ``/profile/abc`` and ``/profile/a/b``.

        Raises:
            ValueError: a bad method or path, or the route is already taken
                (Convex's messages).
            TypeError: ``handler`` is not an HTTP action.
        """
        if handler is None:
            raise ValueError("route requires handler")
        if not method:
            raise ValueError("route requires method")
        if not isinstance(handler, HttpActionDefinition):
            raise TypeError(
                f"route handler must be an HTTP action (decorate it with @http_action), "
                f"got {handler!r}"
            )
        if method not in ROUTABLE_HTTP_METHODS:
            raise ValueError(f"'{method}' is not an allowed HTTP method (like GET, POST, PUT etc.)")
        if path is not None and path_prefix is not None:
            raise ValueError(
                "Invalid httpRouter route: cannot contain both 'path' and 'path_prefix'"
            )
        if path is not None:
            self._add_exact(method, path, handler)
        elif path_prefix is not None:
            self._add_prefix(method, path_prefix, handler)
        else:
            raise ValueError(
                "Invalid httpRouter route entry: must contain either field 'path' or 'path_prefix'"
            )

    def _add_exact(self, method: str, path: str, handler: HttpActionDefinition) -> None:
        if not path.startswith("/"):
            raise ValueError(f"path '{path}' does not start with a /")
        if path == _RESERVED or path.startswith(_RESERVED + "/"):
            raise ValueError(f"path '{path}' is reserved")
        if (method, path) in self._exact:
            raise ValueError(f"Path '{path}' for method {method} already in use")
        self._exact[method, path] = HttpRoute(method, path, False, handler)

    def _add_prefix(self, method: str, prefix: str, handler: HttpActionDefinition) -> None:
        if not prefix.startswith("/"):
            raise ValueError(f"path_prefix '{prefix}' does not start with a /")
        if not prefix.endswith("/"):
            raise ValueError(f"path_prefix {prefix} must end with a /")
        if prefix.startswith(_RESERVED + "/"):
            raise ValueError(f"path_prefix '{prefix}' is reserved")
        prefixes = self._prefixes.setdefault(method, {})
        if prefix in prefixes:
            raise ValueError(f"{method} path_prefix {prefix} is already defined")
        prefixes[prefix] = HttpRoute(method, prefix, True, handler)

    def lookup(self, method: str, path: str) -> tuple[HttpActionDefinition, HttpRoute] | None:
        """The handler and route serving ``method path``, or None.

        An exact path wins over prefixes, and a longer prefix over a shorter one.
        ``HEAD`` looks up the ``GET`` routes. ``path`` is the URL path, still
        percent-encoded as it was sent.
        """
        method = "GET" if method == "HEAD" else method
        exact = self._exact.get((method, path))
        if exact is not None:
            return exact.handler, exact
        prefixes = self._prefixes.get(method, {})
        for prefix in sorted(prefixes, key=len, reverse=True):
            if path.startswith(prefix):
                route = prefixes[prefix]
                return route.handler, route
        return None

    def routes(self) -> list[HttpRoute]:
        """Every route: exact ones by path then method, then prefixes by method then prefix."""
        exact = sorted(self._exact.values(), key=lambda r: (r.path, r.method))
        prefixed = [
            self._prefixes[method][prefix]
            for method in sorted(self._prefixes)
            for prefix in sorted(self._prefixes[method])
        ]
        return exact + prefixed

    def __iter__(self) -> Iterator[HttpRoute]:
        return iter(self.routes())

    def __len__(self) -> int:
        return len(self._exact) + sum(len(p) for p in self._prefixes.values())

    def __repr__(self) -> str:
        return f"HttpRouter({[str(route) for route in self.routes()]})"


def http_router() -> HttpRouter:
    """A new, empty :class:`HttpRouter` (Convex's ``httpRouter()``)."""
    return HttpRouter()
