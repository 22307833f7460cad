"""Why a token was refused: what the client is told, and what the server log says."""

from __future__ import annotations

from pyconvex.errors import PyConvexError

__all__ = ["AuthenticationError"]


class AuthenticationError(PyConvexError):
    """A token that cannot be trusted; nothing may be served as its user.

    Attributes:
        code: Convex's short code (``InvalidAuthHeader``, ``NoAuthProvider``,
            ``Unauthenticated``, ``AuthProviderDiscoveryFailed``).
        message: what the client is told (Convex's wording; it names no key or secret).
        reason: the precise cause, for the server log.
    """

    def __init__(self, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason or message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
