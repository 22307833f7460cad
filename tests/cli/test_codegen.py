"""``pyconvex codegen``: the generated files without a server."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from pyconvex.cli import main

CHAT = Path(__file__).parents[2] / "examples" / "chat" / "convex"


def test_codegen_writes_the_generated_folder_and_a_python_client(tmp_path: Path) -> None:
    shutil.copytree(CHAT, tmp_path / "convex", ignore=shutil.ignore_patterns("_generated"))
    result = CliRunner().invoke(
        main, ["codegen", str(tmp_path), "--python-client", str(tmp_path / "py" / "chat_api.py")]
    )
    assert result.exit_code == 0, result.output
    generated = tmp_path / "convex" / "_generated"
    assert f"✓ {generated} written (" in result.output
    assert "Python client written to" in result.output
    assert (generated / "api.d.ts").read_text().count("FunctionReference<") > 20
    assert (tmp_path / "py" / "chat_api.py").read_text() == (generated / "client.py").read_text()
    again = CliRunner().invoke(main, ["codegen", str(tmp_path / "convex")])
    assert again.exit_code == 0 and "already up to date" in again.output


def test_codegen_on_a_broken_app_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "convex").mkdir()
    (tmp_path / "convex" / "bad.py").write_text("import not_installed_anywhere\n")
    result = CliRunner().invoke(main, ["codegen", str(tmp_path)])
    assert result.exit_code == 1
    assert "Could not load" in result.output and "not_installed_anywhere" in result.output
