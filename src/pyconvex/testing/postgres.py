"""A throwaway PostgreSQL server for tests and benchmarks: :class:`TemporaryPostgres`.

::

    with TemporaryPostgres() as server:
        url = server.create_database("app1")   # postgresql://postgres@127.0.0.1:PORT/app1
        ...

It runs the PostgreSQL binaries installed on this machine (``initdb``,
``pg_ctl``; found on ``PATH`` or in Debian's ``/usr/lib/postgresql/<ver>/bin``)
on a fresh data folder in a temporary directory, listening on a free loopback
port only (no Unix socket), with ``trust`` authentication for the ``postgres``
superuser. Stopping it deletes the folder.

PostgreSQL refuses to run as root, so when this process is root the server
runs as the unprivileged ``postgres`` user (created by Debian's package), and
its folder is owned by that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ["PostgresNotInstalled", "TemporaryPostgres", "find_postgres_bin"]

_SUPERUSER = "postgres"
_START_ATTEMPTS = 3
_START_TIMEOUT_SECONDS = 60


class PostgresNotInstalled(RuntimeError):
    """No ``initdb``/``pg_ctl`` on this machine (install Debian's ``postgresql`` package)."""


def find_postgres_bin() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``.

    Raises:
        PostgresNotInstalled: neither on ``PATH`` nor under ``/usr/lib/postgresql``.
    """
    on_path = shutil.which("initdb")
    if on_path is not None:
        folder = Path(on_path).resolve().parent
        if (folder / "pg_ctl").exists():
            return folder
    # Debian keeps the server binaries off PATH, one folder per major version.
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if candidates:
        newest = max(candidates, key=lambda path: int(Path(path).parts[-3]))
        return Path(newest).parent
    raise PostgresNotInstalled(
        "PostgreSQL is not installed: no initdb on PATH or in /usr/lib/postgresql/*/bin "
        "(on Debian: apt-get install postgresql)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TemporaryPostgres:
    """A PostgreSQL server of its own, in a temporary folder, until :meth:`stop`.

    Args:
        durable: keep PostgreSQL's default ``fsync=on`` (for benchmarks that
            compare with SQLite's fsynced commits). Tests leave it off: they
            never crash the server, and fsyncs on a shared machine are slow.
        settings: more ``postgresql.conf`` settings (``{"max_connections": "200"}``).

    Raises:
        PostgresNotInstalled: the binaries are missing.
        RuntimeError: the server did not start (the message holds its log).
    """

    def __init__(self, *, durable: bool = False, settings: dict[str, str] | None = None) -> None:
        self._bin = find_postgres_bin()
        self._as_root = os.geteuid() == 0
        self._folder = Path(tempfile.mkdtemp(prefix="pyconvex-pg-"))
        self._data = self._folder / "data"
        self._log = self._folder / "server.log"
        self._settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": "",
            "max_connections": "200",
            **({} if durable else {"fsync": "off", "full_page_writes": "off"}),
            **(settings or {}),
        }
        self.port = 0
        self._running = False
        try:
            if self._as_root:
                try:
                    owner = pwd.getpwnam(_SUPERUSER)
                except KeyError:
                    raise PostgresNotInstalled(
                        "PostgreSQL refuses to run as root, and there is no 'postgres' user "
                        "to run it as (Debian's postgresql package creates one)"
                    ) from None
                os.chown(self._folder, owner.pw_uid, owner.pw_gid)
            self._run(
                "initdb", "-D", str(self._data), "-U", _SUPERUSER, "--auth=trust", "-E", "UTF8"
            )
            self._start()
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        """The URL of the ``postgres`` maintenance database."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        """The URL of database ``name`` on this server."""
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropping an older one of that name) and return its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            quoted = '"' + name.replace('"', '""') + '"'
            connection.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {quoted}")
        return self.database_url(name)

    def _start(self) -> None:
        # The port is free when probed but may be taken before the server
        # binds it (other processes start servers too): try another.
        for attempt in range(_START_ATTEMPTS):
            self.port = _free_port()
            # pg_ctl hands -o to a shell: an empty value must be quoted.
            options = " ".join(f"-c {k}={v or repr(v)}" for k, v in self._settings.items())
            result = self._run(
                "pg_ctl",
                "start",
                "-w",
                "-t",
                str(_START_TIMEOUT_SECONDS),
                "-D",
                str(self._data),
                "-l",
                str(self._log),
                "-o",
                f"-p {self.port} {options}",
                check=False,
            )
            if result.returncode == 0:
                self._running = True
                return
            if attempt == _START_ATTEMPTS - 1:
                log = self._log.read_text() if self._log.exists() else ""
                raise RuntimeError(f"PostgreSQL did not start:\n{result.stdout}\n{log}")

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin / program), *args]
        if self._as_root:
            command = ["runuser", "-u", _SUPERUSER, "--", *command]
        result = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self._folder,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}):\n{result.stdout}")
        return result

    def stop(self) -> None:
        """Stop the server (dropping its connections) and delete its folder. Idempotent."""
        if self._running:
            self._running = False
            self._run("pg_ctl", "stop", "-D", str(self._data), "-m", "immediate", check=False)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self._folder)

    def __enter__(self) -> TemporaryPostgres:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
