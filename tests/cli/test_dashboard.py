"""``pyconvex dashboard`` (cli/dashboard.py): prints the dashboard's URL and opens it."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import pytest
from click.testing import CliRunner

from pyconvex.cli import main
from pyconvex.cli.dashboard import dashboard_url


def test_the_url_carries_the_key_only_in_its_fragment() -> None:
    assert dashboard_url("http://127.0.0.1:3210/") == "http://127.0.0.1:3210/dashboard/"
    assert (
        dashboard_url("https://x.example", "pyconvex-admin|a/b")
        == "https://x.example/dashboard/#adminKey=pyconvex-admin%7Ca%2Fb"
    )


def test_prints_the_url_without_opening_a_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["dashboard", "--url", "http://127.0.0.1:9", "--admin-key", "k", "--no-open"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == "Dashboard: http://127.0.0.1:9/dashboard/\n"
    assert opened == []


def test_opens_the_browser_signed_in_with_the_local_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    monkeypatch.delenv("PYCONVEX_ADMIN_KEY", raising=False)
    (tmp_path / ".pyconvex").mkdir()
    (tmp_path / ".pyconvex" / "admin_key").write_text("pyconvex-admin|local\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["dashboard"])
    assert result.exit_code == 0, result.output
    assert "pyconvex-admin" not in result.output  # the key is never printed
    assert opened == ["http://127.0.0.1:3210/dashboard/#adminKey=pyconvex-admin%7Clocal"]


def test_without_a_key_it_says_how_to_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webbrowser, "open", lambda url: False)
    monkeypatch.delenv("PYCONVEX_ADMIN_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["dashboard", "--url", "https://far.example"])
    assert result.exit_code == 0, result.output
    assert "Sign in with the deployment's admin key (pass --admin-key" in result.output
    assert "Could not open a browser" in result.output
