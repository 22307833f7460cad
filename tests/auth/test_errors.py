"""AuthenticationError (auth/errors.py): a client message and a log reason."""

from __future__ import annotations

from pyconvex.auth.errors import AuthenticationError
from pyconvex.errors import PyConvexError


def test_the_client_message_and_the_logged_reason_differ() -> None:
    error = AuthenticationError("InvalidAuthHeader", "Invalid token", "signature mismatch")
    assert isinstance(error, PyConvexError)
    assert error.message == "Invalid token" and error.reason == "signature mismatch"
    assert str(error) == "InvalidAuthHeader: Invalid token"
    assert AuthenticationError("NoAuthProvider", "none").reason == "none"
