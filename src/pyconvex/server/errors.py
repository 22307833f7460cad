"""Request-level errors of the server: the only place they become HTTP responses."""

from __future__ import annotations

from starlette.responses import JSONResponse

__all__ = ["RequestError"]


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
