"""``pyconvex run`` helpers (cli/run.py): arguments and how watched results print."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pyconvex.cli import main
from pyconvex.cli.run import _parse_args, _parse_identity, _show_update


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


def test_identity_must_name_a_user() -> None:
    assert _parse_identity(None) is None
    assert _parse_identity('{"issuer": "https://i", "subject": "ada"}') == {
        "issuer": "https://i",
        "subject": "ada",
    }
    for bad in ("{", '{"name": "Ada"}', "[1]"):
        with pytest.raises(click.ClickException):
            _parse_identity(bad)


def test_run_local_as_a_user(tmp_path: Path) -> None:
    app = tmp_path / "convex"
    app.mkdir()
    (app / "who.py").write_text(
        "from pyconvex import query\n\n"
        "@query\nasync def me(ctx):\n"
        "    identity = await ctx.auth.get_user_identity()\n"
        "    return None if identity is None else identity.token_identifier\n"
    )
    common = ["run", "who:me", "--app", str(app), "--data", str(tmp_path / "d.sqlite3")]
    signed_out = CliRunner().invoke(main, common)
    assert signed_out.exit_code == 0 and signed_out.output.strip() == "null"
    acting = CliRunner().invoke(main, [*common, "--identity", '{"tokenIdentifier": "t|ada"}'])
    assert acting.exit_code == 0, acting.output
    assert acting.output.strip() == '"t|ada"'
