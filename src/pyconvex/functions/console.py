"""A function's log lines: ``print()`` and ``logging`` inside it, as Convex's console.

Inside a function execution, ``print(...)`` becomes a ``[LOG] ...`` line
(``[ERROR]`` when printed to ``sys.stderr``), and records of the app's loggers
(``logging.getLogger(__name__)`` in a function module) become ``[DEBUG]``,
``[INFO]``, ``[WARN]`` or ``[ERROR]`` lines. The lines are returned to the calling
client with the result, as Convex returns ``console.log`` output. Outside an
execution nothing changes: ``print`` prints.

Capture is scoped by a context variable, so concurrent executions (and the
server's own output) never mix. Limits follow Convex: 256 lines per execution,
lines longer than 4 KiB are cut.
"""

from __future__ import annotations

import builtins
import contextvars
import logging
import sys
import threading
import traceback
from typing import Any

__all__ = [
    "LogBuffer",
    "attach_logger",
    "capture",
    "current_lines",
    "install",
    "log_lines_of",
    "release",
]

MAX_LINES = 256
MAX_LINE_BYTES = 4096

_current: contextvars.ContextVar[LogBuffer | None] = contextvars.ContextVar(
    "pyconvex_log_buffer", default=None
)
_real_print = builtins.print
_install_lock = threading.Lock()
_installed = False


class LogBuffer:
    """The log lines of one execution (shared by its nested calls)."""

    __slots__ = ("lines", "_dropped")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._dropped = False

    def add(self, level: str, text: str) -> None:
        """Append a ``[LEVEL] text`` line, within the limits."""
        if len(self.lines) >= MAX_LINES:
            if not self._dropped:
                self._dropped = True
                self.lines.append(
                    f"[WARN] Log overflow (maximum {MAX_LINES}). Remaining log lines omitted."
                )
            return
        line = f"[{level}] {text}"
        if len(line.encode("utf-8")) > MAX_LINE_BYTES:
            cut = line.encode("utf-8")[:MAX_LINE_BYTES].decode("utf-8", "ignore")
            line = cut + " (truncated due to length)"
        self.lines.append(line)


def capture() -> contextvars.Token[LogBuffer | None]:
    """Start collecting the current context's log lines into a new buffer."""
    return _current.set(LogBuffer())


def release(token: contextvars.Token[LogBuffer | None]) -> list[str]:
    """Stop collecting and return the lines (undo :func:`capture`)."""
    buffer = _current.get()
    _current.reset(token)
    return buffer.lines if buffer is not None else []


def current_lines() -> list[str]:
    """The lines collected so far in this context (empty outside an execution)."""
    buffer = _current.get()
    return list(buffer.lines) if buffer is not None else []


def log_lines_of(error: BaseException) -> list[str]:
    """The log lines of the execution that raised ``error`` (attached by the executor)."""
    lines: list[str] = getattr(error, "__pyconvex_log_lines__", [])
    return lines


def _print(
    *values: Any,
    sep: str | None = " ",
    end: str | None = "\n",
    file: Any = None,
    flush: bool = False,
) -> None:
    buffer = _current.get()
    if buffer is None or (file is not None and file not in (sys.stdout, sys.stderr)):
        _real_print(*values, sep=sep, end=end, file=file, flush=flush)
        return
    text = (" " if sep is None else sep).join(str(value) for value in values)
    level = "ERROR" if file is sys.stderr else "LOG"
    for line in text.splitlines() or [""]:
        buffer.add(level, line)


_LEVELS = ((logging.ERROR, "ERROR"), (logging.WARNING, "WARN"), (logging.INFO, "INFO"))


class _CaptureHandler(logging.Handler):
    """Turns app log records into the running execution's log lines."""

    def emit(self, record: logging.LogRecord) -> None:
        buffer = _current.get()
        if buffer is None:
            return
        level = next((name for number, name in _LEVELS if record.levelno >= number), "DEBUG")
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not fail the function
            message = str(record.msg)
        if record.exc_info and record.exc_info[0] is not None:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        buffer.add(level, message)


_handler = _CaptureHandler()


def attach_logger(name: str) -> None:
    """Capture records of logger ``name`` (an app's private package) at every level."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.DEBUG)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)


def install() -> None:
    """Route ``print`` through the capture (idempotent; outside executions it just prints)."""
    global _installed
    with _install_lock:
        if not _installed:
            builtins.print = _print
            _installed = True
