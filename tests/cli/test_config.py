"""pyconvex.json and choosing the target deployment (cli/config.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from pyconvex.cli.config import (
    DEFAULT_DEV_URL,
    find_config,
    is_local_url,
    load_config,
    resolve_database,
    resolve_target,
)


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYCONVEX_ADMIN_KEY", raising=False)


def project(root: Path, config: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyconvex.json").write_text(json.dumps(config))
    return root


def test_found_by_walking_up(tmp_path: Path) -> None:
    root = project(
        tmp_path / "app",
        {
            "functions": "backend",
            "deployments": {"prod": {"url": "https://api.example.com/"}},
        },
    )
    (root / "src" / "deep").mkdir(parents=True)
    config = find_config(root / "src" / "deep")
    assert config.root == root and config.path == root / "pyconvex.json"
    assert config.functions_dir == root / "backend"
    assert config.state_dir == root / ".pyconvex"
    assert config.deployments == {"prod": "https://api.example.com", "dev": DEFAULT_DEV_URL}


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = find_config(tmp_path)
    assert config.path is None and config.root == tmp_path
    assert config.functions_dir == tmp_path / "convex" and config.dev_url == DEFAULT_DEV_URL


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "must hold a JSON object"),
        ('{"functions": 3}', '"functions" must be a folder name'),
        ('{"deployments": {"prod": {}}}', 'deployment "prod" needs a "url"'),
        ('{"deployments": {"prod": {"url": "ftp://x"}}}', "http:// or https://"),
        (
            '{"deployments": {"prod": {"url": "https://x", "adminKey": "k"}}}',
            "admin keys do not belong in pyconvex.json",
        ),
        ('{"db": 5}', '"db" must be a postgres:// URL or a SQLite file path'),
    ],
)
def test_invalid_configs_are_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "pyconvex.json").write_text(content)
    with pytest.raises(click.ClickException, match=message):
        load_config(tmp_path / "pyconvex.json")


def test_targets(tmp_path: Path) -> None:
    config = load_config(
        project(
            tmp_path / "p",
            {
                "deployments": {
                    "dev": {"url": "http://127.0.0.1:4000"},
                    "prod": {"url": "https://p"},
                }
            },
        )
        / "pyconvex.json"
    )
    assert resolve_target(config).url == "http://127.0.0.1:4000"
    assert resolve_target(config, prod=True).url == "https://p"
    assert resolve_target(config, url="http://h:1/").url == "http://h:1"
    with pytest.raises(click.ClickException, match="either --url or --prod"):
        resolve_target(config, url="http://h", prod=True)
    with pytest.raises(click.ClickException, match='No "prod" deployment'):
        resolve_target(find_config(tmp_path), prod=True)


def test_admin_key_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = find_config(tmp_path)
    target = resolve_target(config)
    assert target.admin_key is None
    with pytest.raises(click.ClickException, match="start `pyconvex dev` in the project"):
        target.require_admin_key()

    # A local deployment: the key file pyconvex dev writes.
    (tmp_path / ".pyconvex").mkdir()
    (tmp_path / ".pyconvex" / "admin_key").write_text("from-file\n")
    assert resolve_target(config).admin_key == "from-file"
    # ... but never for a remote one.
    remote = resolve_target(config, url="https://example.com")
    assert remote.admin_key is None
    with pytest.raises(click.ClickException, match="pass --admin-key or set PYCONVEX_ADMIN_KEY"):
        remote.require_admin_key()
    # The environment beats the file, the option beats both.
    monkeypatch.setenv("PYCONVEX_ADMIN_KEY", "from-env")
    assert resolve_target(config).admin_key == "from-env"
    assert resolve_target(config, admin_key="given").admin_key == "given"


def test_is_local_url() -> None:
    assert is_local_url("http://127.0.0.1:3210") and is_local_url("http://localhost")
    assert is_local_url("http://[::1]:3210") and not is_local_url("https://example.com")


def test_where_the_data_lives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYCONVEX_DB_URL", raising=False)
    plain = find_config(tmp_path)
    assert resolve_database(plain, None, None) == str(tmp_path / ".pyconvex" / "data.sqlite3")
    configured = find_config(project(tmp_path / "a", {"db": "postgres://cfg@db/app"}))
    relative = find_config(project(tmp_path / "b", {"db": "var/data.sqlite3"}))
    assert resolve_database(configured, None, None) == "postgres://cfg@db/app"
    assert resolve_database(relative, None, None) == str(tmp_path / "b" / "var" / "data.sqlite3")
    monkeypatch.setenv("PYCONVEX_DB_URL", "postgres://env@db/app")
    assert resolve_database(configured, None, None) == "postgres://env@db/app"
    assert resolve_database(configured, None, Path("x.sqlite3")) == "x.sqlite3"
    assert resolve_database(configured, "postgres://flag@db/app", None) == "postgres://flag@db/app"
    with pytest.raises(click.ClickException, match="either --db or --data"):
        resolve_database(configured, "postgres://flag@db/app", Path("x.sqlite3"))
