"""Request-level errors of the server: the only place they become HTTP responses."""

from __future__ import annotations

import json
import traceback
from typing import Any

from starlette.responses import JSONResponse

from pyconvex.errors import (
    ArgumentValidationError,
    ConvexError,
    FunctionNotFoundError,
    PyConvexError,
    ReturnsValidationError,
)
from pyconvex.values.json import encode_json

__all__ = ["RequestError", "describe_function_error"]


class RequestError(Exception):
    """A request-level failure: answered with ``status`` and ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> JSONResponse:
        """The JSON error response."""
        return JSONResponse({"code": self.code, "message": self.message}, status_code=self.status)


def describe_function_error(error: BaseException, *, production: bool) -> tuple[str, Any, bool]:
    """How a function failure reads to clients: ``(message, error_data, has_error_data)``.

    ``ConvexError`` data always reaches the client (encoded); other failures
    read ``Uncaught Error: ...`` (with a short stack in development), and in
    production only their kind, as Convex redacts them.
    """
    if isinstance(error, FunctionNotFoundError):
        return error.message, None, False
    if isinstance(error, ConvexError):
        data = error.data
        text = data if isinstance(data, str) else json.dumps(encode_json(data), sort_keys=True)
        return f"Uncaught ConvexError: {text}", encode_json(data), True
    if production:
        return "Server Error", None, False
    if isinstance(error, (ArgumentValidationError, ReturnsValidationError)):
        return error.message, None, False
    if isinstance(error, PyConvexError):
        return f"Uncaught Error: {error.message}", None, False
    detail = f"Uncaught Error: {error}" if str(error) else f"Uncaught {type(error).__name__}"
    frames = traceback.extract_tb(error.__traceback__)[-5:]
    return (
        detail + "".join(f"\n    at {f.name} ({f.filename}:{f.lineno})" for f in frames),
        None,
        False,
    )
