"""A small HTTP client for a deployment's admin and function endpoints.

Every failure becomes one :class:`DeploymentError` line (a
:class:`click.ClickException`, so the command exits non-zero without a
traceback): the server is unreachable, the admin key is missing or wrong, the
answer is not JSON, the endpoint does not exist, or the server refused the
request (its ``{"code", "message"}`` is shown).
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

import click
import httpx

__all__ = ["AdminClient", "DeploymentError", "FunctionFailed", "FunctionResult"]


class DeploymentError(click.ClickException):
    """A request to the deployment failed; the message is one line for the terminal.

    Attributes:
        status: the HTTP status of the answer, or None when there was no answer
            (unreachable, timed out): those are worth retrying, a 401 or 403 is not.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FunctionFailed(click.ClickException):
    """A function ran and failed (a ``status: "error"`` answer).

    Attributes:
        log_lines: the function's log lines before it failed.
    """

    def __init__(self, message: str, log_lines: list[str]) -> None:
        super().__init__(message)
        self.log_lines = log_lines


class FunctionResult:
    """A successful function call: its value (convex-encoded JSON) and log lines."""

    def __init__(self, value: Any, log_lines: list[str]) -> None:
        self.value = value
        self.log_lines = log_lines


class AdminClient:
    """Talks to one deployment with its admin key (``Authorization: Convex <key>``).

    Args:
        url: the deployment URL (``http://127.0.0.1:3210``).
        admin_key: sent with every request; None sends none.
        timeout: seconds to wait for an answer (long polls pass their own).
        transport: an httpx transport to use instead of the network (tests).
    """

    def __init__(
        self,
        url: str,
        admin_key: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"Convex-Client": "pyconvex-cli"}
        if admin_key is not None:
            headers["Authorization"] = f"Convex {admin_key}"
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- requests -----------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None, **options: Any) -> Any:
        """GET ``path`` and return its JSON body (``options``: ``timeout=``)."""
        return self._send("GET", path, params=params, **options)

    def post(self, path: str, body: Any, **options: Any) -> Any:
        """POST ``body`` as JSON to ``path`` and return the JSON answer."""
        return self._send("POST", path, json=body, **options)

    def post_bytes(self, path: str, content: bytes, content_type: str, **options: Any) -> Any:
        """POST raw bytes (a zip of code) to ``path`` and return the JSON answer."""
        return self._send(
            "POST", path, content=content, headers={"Content-Type": content_type}, **options
        )

    def call_function(self, path: str, args: dict[str, Any]) -> FunctionResult:
        """Run any function (query, mutation or action) as admin.

        ``args`` and the returned value are convex-encoded JSON (``{"$integer": ...}``).

        Raises:
            FunctionFailed: the function ran and failed.
            DeploymentError: the request itself failed.
        """
        body = self.post(
            "/api/function", {"path": path, "args": args, "format": "convex_encoded_json"}
        )
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            raise DeploymentError(f"{self.url} answered /api/function with an unexpected body")
        lines = [str(line) for line in body.get("logLines") or []]
        if body["status"] == "success":
            return FunctionResult(body.get("value"), lines)
        if "errorData" in body:
            data = json.dumps(body["errorData"], sort_keys=True)
            raise FunctionFailed(f"ConvexError: {data}", lines)
        raise FunctionFailed(_function_error_text(str(body.get("errorMessage", ""))), lines)

    def _send(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = self._http.request(method, path, **options)
        except httpx.ConnectError:
            raise DeploymentError(
                f"Cannot reach the deployment at {self.url} (connection refused): "
                "is `pyconvex dev` running there?"
            ) from None
        except httpx.TimeoutException:
            raise DeploymentError(f"The deployment at {self.url} did not answer in time") from None
        except httpx.HTTPError as error:
            raise DeploymentError(
                f"Cannot reach the deployment at {self.url}: {error or type(error).__name__}"
            ) from None
        return self._answer(response, path)

    def _answer(self, response: httpx.Response, path: str) -> Any:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
            parsed = False
        else:
            parsed = True
        status = response.status_code
        error = body if isinstance(body, dict) and "code" in body else None
        message = str(error.get("message", "")) if error else ""
        if status == 401:
            raise DeploymentError(f"{self.url} requires an admin key: {message or 'none was sent'}")
        if status == 403:
            raise DeploymentError(
                f"The admin key was refused by {self.url}: it is not this deployment's key"
            )
        if status == 404 and error is None:
            raise DeploymentError(
                f"{self.url} has no {path} endpoint: is it a pyconvex deployment "
                "recent enough for this command?"
            )
        if status >= 400:
            if error is not None:
                raise DeploymentError(f"{message} ({error['code']})")
            raise DeploymentError(f"{self.url}{path} failed with HTTP {status}")
        if not parsed:
            raise DeploymentError(
                f"{self.url}{path} answered with something that is not JSON: "
                "is it a pyconvex deployment?"
            )
        return body


def _function_error_text(message: str) -> str:
    # The server prefixes failures with "[Request ID: ...] Server Error"; the
    # useful part (the error and where it was raised) follows on the next lines.
    first, _, rest = message.partition("\n")
    if first.startswith("[Request ID:") and rest:
        return rest
    return message or "The function failed"
