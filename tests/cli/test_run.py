"""``pyconvex run`` helpers (cli/run.py): arguments and how watched results print."""

from __future__ import annotations

import click
import pytest

from pyconvex.cli.run import _parse_args, _show_update


def test_arguments_are_convex_json_objects() -> None:
    # Kept as JSON; the deployment decodes the Convex encoding ($integer, $bytes, ...).
    assert _parse_args('{"n": {"$integer": "AQAAAAAAAAA="}}') == {"n": {"$integer": "AQAAAAAAAAA="}}
    for bad in ("{", "[1]", "3"):
        with pytest.raises(click.ClickException):
            _parse_args(bad)


def test_watched_results_print_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    _show_update(
        {
            "type": "Transition",
            "modifications": [
                {
                    "type": "QueryUpdated",
                    "queryId": 0,
                    "value": {"$integer": "AgAAAAAAAAA="},
                    "logLines": ["[LOG] ran"],
                },
                {
                    "type": "QueryFailed",
                    "queryId": 0,
                    "errorMessage": "Uncaught Error: x",
                    "logLines": [],
                },
            ],
        }
    )
    captured = capsys.readouterr()
    assert captured.out.strip() == '"2"'  # clean JSON: int64 as a decimal string
    assert "[LOG] ran" in captured.err and "✗ Uncaught Error: x" in captured.err
    with pytest.raises(click.ClickException, match="refused the admin key"):
        _show_update({"type": "AuthError", "error": "no"})
