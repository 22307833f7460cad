"""How function failures read to clients (server/errors.py)."""

from __future__ import annotations

from pyconvex.errors import ArgumentValidationError, ConvexError, FunctionNotFoundError, QueryError
from pyconvex.server.errors import RequestError, describe_function_error
from pyconvex.values.model import Int64


def test_convex_errors_keep_their_data_even_in_production() -> None:
    for production in (False, True):
        message, data, has_data = describe_function_error(
            ConvexError({"n": Int64(7)}), production=production
        )
        assert message.startswith("Uncaught ConvexError: ") and has_data
        assert data == {"n": {"$integer": "BwAAAAAAAAA="}}


def test_other_failures_and_production_redaction() -> None:
    assert describe_function_error(QueryError("bad range"), production=False)[0] == (
        "Uncaught Error: bad range"
    )
    validation = ArgumentValidationError("ArgumentValidationError: nope")
    assert (
        describe_function_error(validation, production=False)[0] == "ArgumentValidationError: nope"
    )
    missing = FunctionNotFoundError("Could not find public function for 'a:b'.")
    assert describe_function_error(missing, production=True)[0].startswith("Could not find")
    assert describe_function_error(RuntimeError("secret detail"), production=True) == (
        "Server Error",
        None,
        False,
    )
    detailed = describe_function_error(RuntimeError("boom"), production=False)[0]
    assert detailed.startswith("Uncaught Error: boom")


def test_request_errors_become_code_and_message() -> None:
    response = RequestError(403, "BadDeployKey", "no").response()
    assert (
        response.status_code == 403 and response.body == b'{"code":"BadDeployKey","message":"no"}'
    )
