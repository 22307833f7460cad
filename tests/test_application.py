"""The composition root (application.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pyconvex.application import Backend, default_data_path


def test_open_loads_an_app_and_keeps_its_data(tmp_path: Path) -> None:
    app = tmp_path / "convex"
    app.mkdir()
    (app / "things.py").write_text(
        "from pyconvex import mutation, query\n\n"
        "@mutation\nasync def make(ctx):\n    return await ctx.db.insert('things', {})\n\n"
        "@query\nasync def count(ctx):\n    return len(await ctx.db.query('things').collect())\n"
    )
    backend = Backend.open(app)
    try:
        asyncio.run(backend.executor.run_mutation("things:make"))
    finally:
        backend.close()
    assert default_data_path(app).exists()
    backend = Backend.open(app)
    try:
        assert asyncio.run(backend.executor.run_query("things:count")).value == 1.0
    finally:
        backend.close()
    in_memory = Backend.open(app, data_path=":memory:")
    try:
        assert asyncio.run(in_memory.executor.run_query("things:count")).value == 0.0
    finally:
        in_memory.close()


def test_module_level_code_reads_environment_variables(tmp_path: Path) -> None:
    from pyconvex.database.environment import set_environment_variables

    app = tmp_path / "convex"
    app.mkdir()
    (app / "auth_config.py").write_text(
        "from pyconvex import env\n\nISSUER = env.get('AUTH_ISSUER', 'unset')\n"
    )
    (app / "who.py").write_text(
        "from pyconvex import query\nfrom .auth_config import ISSUER\n\n"
        "@query\ndef issuer(ctx):\n    return ISSUER\n"
    )
    backend = Backend.open(app)
    try:
        assert asyncio.run(backend.executor.run_query("who:issuer")).value == "unset"
        set_environment_variables(backend.database, {"AUTH_ISSUER": "https://auth.example"})
        backend.reload()  # config modules are evaluated at deploy, as in Convex
        assert asyncio.run(backend.executor.run_query("who:issuer")).value == "https://auth.example"
    finally:
        backend.close()


def test_files_are_kept_beside_the_data_or_where_asked(tmp_path: Path) -> None:
    from pyconvex.files.base import FileStoreOwnedError
    from pyconvex.files.local import LocalFileStore

    app = tmp_path / "convex"
    app.mkdir()
    (app / "nothing.py").write_text("")
    backend = Backend.open(app, data_path=tmp_path / "state" / "data.sqlite3")
    try:
        store = backend.files.store
        assert isinstance(store, LocalFileStore) and store.root == tmp_path / "state" / "files"
        kept = backend.files.store_file([b"kept"], None)
    finally:
        backend.close()
    elsewhere = tmp_path / "elsewhere"
    backend = Backend.open(app, data_path=tmp_path / "state" / "data.sqlite3", files=elsewhere)
    try:
        assert backend.files.store.location == str(elsewhere)
    finally:
        backend.close()
    # The default folder still belongs to the first database; another one may not use it.
    backend = Backend.open(app, data_path=tmp_path / "state" / "data.sqlite3")
    try:
        assert backend.files.read(kept) == b"kept"  # swept nothing: the row is there
    finally:
        backend.close()
    try:
        Backend.open(app, data_path=":memory:", files=tmp_path / "state" / "files")
    except FileStoreOwnedError as error:
        assert "holds the files of another deployment" in str(error)
    else:
        raise AssertionError("a second deployment was let into the first one's files")


def test_crons_are_reconciled_at_open_and_on_reload(tmp_path: Path) -> None:
    import pytest

    from pyconvex.errors import CronJobError

    app = tmp_path / "convex"
    app.mkdir()
    (app / "tasks.py").write_text(
        "from pyconvex import internal_mutation, query\n\n"
        "@internal_mutation\ndef tidy(ctx):\n    pass\n\n"
        "@query\nasync def crons(ctx):\n"
        "    return sorted(r['name'] for r in await ctx.db.system.query('_cron_jobs').collect())\n"
    )
    crons = app / "crons.py"
    crons.write_text(
        "from pyconvex import cron_jobs\n\ncrons = cron_jobs()\n"
        "crons.daily('nightly', {'hourUTC': 3, 'minuteUTC': 0}, 'tasks:tidy')\n"
    )
    backend = Backend.open(app, data_path=":memory:")
    try:
        assert asyncio.run(backend.executor.run_query("tasks:crons")).value == ["nightly"]
        crons.write_text(
            "from pyconvex import cron_jobs\n\ncrons = cron_jobs()\n"
            "crons.hourly('hourly', {'minuteUTC': 0}, 'tasks:tidy')\n"
        )
        backend.reload()
        assert asyncio.run(backend.executor.run_query("tasks:crons")).value == ["hourly"]
        # A cron whose target is gone fails the reload; the old code and crons stay.
        crons.write_text(
            "from pyconvex import cron_jobs\n\ncrons = cron_jobs()\n"
            "crons.hourly('broken', {'minuteUTC': 0}, 'tasks:nothing')\n"
        )
        with pytest.raises(CronJobError, match="tasks:nothing, which does not exist"):
            backend.reload()
        assert asyncio.run(backend.executor.run_query("tasks:crons")).value == ["hourly"]
    finally:
        backend.close()


def _things_app(folder: Path) -> Path:
    app = folder / "convex"
    app.mkdir(parents=True)
    (app / "things.py").write_text(
        "from pyconvex import mutation\n\n"
        "@mutation\nasync def make(ctx):\n    return await ctx.db.insert('things', {})\n"
    )
    return app


@pytest.mark.postgres
def test_nodes_on_postgres_share_one_admin_key(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYCONVEX_ADMIN_KEY", raising=False)
    first = Backend.open(_things_app(tmp_path / "a"), data_path=postgres_url)
    try:
        key = first.admin_key
        assert key is not None and first.check_admin_key(key)
        # A node elsewhere (no key file) keeps the deployment's key instead of replacing it.
        second = Backend.open(_things_app(tmp_path / "b"), data_path=postgres_url)
        try:
            assert second.admin_key is None
            assert second.check_admin_key(key) and first.check_admin_key(key)
        finally:
            second.close()
        # A node given the key knows it; an operator's new key replaces it for every node.
        monkeypatch.setenv("PYCONVEX_ADMIN_KEY", key)
        third = Backend.open(_things_app(tmp_path / "c"), data_path=postgres_url)
        third.close()
        assert third.admin_key == key
        monkeypatch.setenv("PYCONVEX_ADMIN_KEY", "pyconvex-admin|rotated")
        fourth = Backend.open(_things_app(tmp_path / "d"), data_path=postgres_url)
        fourth.close()
        assert first.check_admin_key("pyconvex-admin|rotated")
        assert not first.check_admin_key(key)
    finally:
        first.close()
