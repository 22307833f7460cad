"""Loading a convex/ folder (functions/loader.py)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from pyconvex.auth.config import AuthConfigError, OidcProvider
from pyconvex.errors import SchemaError
from pyconvex.functions.loader import load_app
from pyconvex.functions.registry import FunctionKind


def write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def test_a_folder_becomes_a_registry_and_a_schema(tmp_path: Path) -> None:
    app = tmp_path / "convex"
    write(
        app,
        "schema.py",
        """
        from pyconvex import define_schema, define_table, v
        schema = define_schema({"messages": define_table({"body": v.string()})})
    """,
    )
    write(
        app,
        "messages.py",
        """
        from pyconvex import query, mutation
        from .helpers import shout  # the app's own modules import each other

        @query
        async def list(ctx):
            return shout("x")

        @mutation
        def addReaction(ctx, args):
            return None
    """,
    )
    write(app, "helpers.py", "def shout(text):\n    return text.upper()\n")
    write(
        app,
        "foo/bar.py",
        "from pyconvex import action\n\n@action\nasync def fn(ctx):\n    return 1\n",
    )
    write(app, "_generated/api.py", "raise RuntimeError('never imported')\n")
    loaded = load_app(app)
    paths = [path for path, _ in loaded.registry.items()]
    assert paths == ["foo/bar:fn", "messages:addReaction", "messages:list"]
    assert loaded.registry.get("foo/bar:fn").kind is FunctionKind.ACTION  # type: ignore[union-attr]
    assert loaded.schema is not None and "messages" in loaded.schema.tables
    # The app's folder is called "convex" but must not shadow a package of that name.
    assert "convex" not in sys.modules or not str(
        getattr(sys.modules["convex"], "__file__", "")
    ).startswith(str(app))


def test_errors_surface(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_app(tmp_path / "missing")
    write(tmp_path / "a", "schema.py", "schema = 5\n")
    with pytest.raises(SchemaError, match="define_schema"):
        load_app(tmp_path / "a")
    write(tmp_path / "b", "broken.py", "raise ValueError('bad module')\n")
    with pytest.raises(ValueError, match="bad module"):
        load_app(tmp_path / "b")


def test_import_convex_from_the_app_root_gets_the_pypi_client(tmp_path: Path) -> None:
    import subprocess

    write(tmp_path / "convex", "messages.py", "from pyconvex import query\n")
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import convex, pyconvex.functions.loader as l; l.load_app('convex'); "
            "import convex as again; print(convex.__file__, again is convex, "
            "hasattr(convex, 'ConvexClient'))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    file, same, client = loaded.stdout.split()
    assert "site-packages" in file and same == "True" and client == "True"


def test_auth_config_declares_the_providers(tmp_path: Path) -> None:
    write(
        tmp_path / "a",
        "auth_config.py",
        'providers = [{"domain": "https://idp.example.com", "applicationID": "convex"}]\n',
    )
    app = load_app(tmp_path / "a")
    assert app.auth_providers == (OidcProvider("https://idp.example.com", "convex"),)
    assert len(app.registry) == 0  # not a functions module
    write(tmp_path / "b", "auth_config.py", 'providers = [{"domain": "https://x.org"}]\n')
    with pytest.raises(AuthConfigError, match="applicationID"):
        load_app(tmp_path / "b")


def test_crons_py_is_loaded_as_the_apps_cron_jobs(tmp_path: Path) -> None:
    from pyconvex.errors import CronJobError

    app = tmp_path / "convex"
    write(
        app,
        "tasks.py",
        "from pyconvex import internal_mutation\n\n@internal_mutation\ndef tidy(ctx):\n    pass\n",
    )
    write(
        app,
        "crons.py",
        """
        from pyconvex import cron_jobs
        from ._generated.api import internal

        crons = cron_jobs()
        crons.interval("tidy up", {"minutes": 5}, internal.tasks.tidy)
    """,
    )
    loaded = load_app(app)
    assert loaded.crons is not None and list(loaded.crons.crons) == ["tidy up"]
    assert "crons:crons" not in [path for path, _ in loaded.registry.items()]
    write(app, "crons.py", "CRONS = []\n")
    with pytest.raises(CronJobError, match="must define its cron jobs"):
        load_app(app)
    write(
        app,
        "crons.py",
        "from pyconvex import cron_jobs\ncron_jobs().daily('x', {}, 'tasks:tidy')\n",
    )
    with pytest.raises(CronJobError, match="Hour of day must be an integer"):
        load_app(app)
