"""The composition root: one deployment's storage, database, functions and admin key.

:class:`Backend` wires a persistence, a :class:`~pyconvex.database.database.Database`,
an :class:`~pyconvex.functions.executor.Executor` and the
:class:`~pyconvex.functions.job_runner.JobRunner` of scheduled functions and cron
jobs for an app. The server and the CLI use it; it wires and does nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import threading
from pathlib import Path

from pyconvex.auth.config import Provider
from pyconvex.auth.verifier import TokenVerifier
from pyconvex.codegen import write_generated
from pyconvex.database.database import Database
from pyconvex.database.schema import Schema
from pyconvex.files.base import FileStore
from pyconvex.files.local import LocalFileStore
from pyconvex.files.location import open_file_store
from pyconvex.functions import env as environment
from pyconvex.functions.cron import Crons
from pyconvex.functions.executor import Executor, prune_session_requests
from pyconvex.functions.http_router import HttpRouter
from pyconvex.functions.job_runner import JobRunner, check_crons
from pyconvex.functions.loader import LoadedApp, load_app
from pyconvex.functions.registry import Registry
from pyconvex.functions.storage import FileService
from pyconvex.signin.config import SignInConfig, parse_sign_in
from pyconvex.signin.keys import IssuerKeys
from pyconvex.signin.oauth import OAuthSignIn
from pyconvex.signin.service import SignInService
from pyconvex.storage.base import Persistence
from pyconvex.storage.opener import open_persistence, sqlite_path
from pyconvex.storage.postgres import PostgresPersistence

__all__ = ["Backend", "default_data_path"]

_ADMIN_KEY_HASH = "admin_key_sha256"
#: A PostgreSQL deployment's admin key, given to each of its nodes (the CLI sends the same).
ADMIN_KEY_ENV = "PYCONVEX_ADMIN_KEY"
_STORAGE_SECRET = "storage_secret"
#: How long a mutation's (sessionId, requestId) record answers replays.
SESSION_REQUEST_RETENTION_SECONDS = 6 * 3600
SESSION_REQUEST_PRUNE_PERIOD_SECONDS = 600


def default_data_path(app_dir: Path) -> Path:
    """Where an app's embedded database lives: ``.pyconvex/data.sqlite3`` beside ``convex/``."""
    return app_dir.resolve().parent / ".pyconvex" / "data.sqlite3"


class Backend:
    """A deployment: storage, database, schema, functions and admin key.

    Args:
        persistence: the store the database lives in.
        registry: the app's functions.
        schema: the app's schema (None: no schema).
        admin_key_file: where a local deployment keeps its admin key (None: memory only).
        http_router: the app's HTTP routes (``convex/http.py``; None: no HTTP actions).
        files_dir: the local directory of file storage (None: a temporary one).
        file_store: where file storage keeps bytes (overrides ``files_dir``).
        auth_providers: who may sign users in (``convex/auth_config.py``).
        sign_in: the built-in sign-in the app turned on (``sign_in`` in ``auth_config.py``).
        crons: the app's cron jobs (``convex/crons.py``; None: none).

    Raises:
        FileStoreOwnedError: the file store holds another deployment's files.

    Scheduled functions and cron jobs run from construction until :meth:`close`.
    """

    def __init__(
        self,
        persistence: Persistence,
        registry: Registry,
        schema: Schema | None = None,
        *,
        admin_key_file: Path | None = None,
        functions_dir: Path | None = None,
        database: Database | None = None,
        http_router: HttpRouter | None = None,
        files_dir: Path | None = None,
        file_store: FileStore | None = None,
        url: str = "http://127.0.0.1:3210",
        auth_providers: tuple[Provider, ...] = (),
        sign_in: SignInConfig | None = None,
        crons: Crons | None = None,
    ) -> None:
        self.persistence = persistence
        self.database = database or Database(persistence)
        self.database.apply_schema(schema)
        self.registry = registry
        self.schema = schema
        self.functions_dir = functions_dir
        self._files_tmp: tempfile.TemporaryDirectory[str] | None = None
        if file_store is None:
            if files_dir is None:
                self._files_tmp = tempfile.TemporaryDirectory(prefix="pyconvex-files-")
                files_dir = Path(self._files_tmp.name)
            file_store = LocalFileStore(files_dir)
        self.files = FileService(self.database, file_store, self._storage_secret(), url)
        self.files.start()  # claim the store; sweep bytes left without a row by a crash
        self.executor = Executor(self.database, registry)
        self.admin_key = self._load_admin_key(admin_key_file)
        self.executor.files = self.files
        self._stop = threading.Event()
        self._janitor = threading.Thread(target=self._tidy, name="pyconvex-janitor", daemon=True)
        self._janitor.start()
        self._reload_lock = threading.Lock()
        self.http_router = http_router
        #: Verifies users' tokens; its clock is the database's, so tests can move time.
        self.auth = TokenVerifier(auth_providers, clock=self.database.clock)
        #: Built-in sign-in, with the deployment as its own issuer (keys made on first use).
        self.signin = SignInService(
            self.database, self.executor, IssuerKeys(persistence), url, sign_in
        )
        self.oauth = OAuthSignIn(self.signin, self.auth.keys)
        self._app_providers = auth_providers
        self._trust_own_issuer()
        self.scheduler = JobRunner(self.executor)
        self.scheduler.set_crons(crons)
        self.scheduler.start()

    @classmethod
    def open(
        cls,
        app_dir: str | Path,
        *,
        data_path: str | Path | None = None,
        files: str | Path | None = None,
    ) -> Backend:
        """Load an app's ``convex/`` folder and open its database.

        ``data_path`` is any location :func:`~pyconvex.storage.opener.open_persistence`
        takes: a SQLite file (default: :func:`default_data_path`), a
        ``postgres://`` URL, or ``":memory:"`` for none. The admin key file and
        local files live beside a SQLite file, else in the app's ``.pyconvex/``.

        ``files`` is where file storage keeps bytes: a directory or
        ``s3://bucket/prefix`` (see :mod:`pyconvex.files.location`); default
        ``files/`` beside the database (a temporary directory for ``":memory:"``).

        Raises:
            Exception: loading the app failed (the error of the failing module).
            SchemaError: existing data does not match the app's schema.
        """
        location = data_path if data_path else default_data_path(Path(app_dir))
        key_file: Path | None = None
        files_dir: Path | None = None
        if location != ":memory:":
            file = sqlite_path(location)
            state_dir = file.parent if file is not None else default_data_path(Path(app_dir)).parent
            key_file = state_dir / "admin_key"
            files_dir = state_dir / "files"
        persistence = open_persistence(location)
        database: Database | None = None
        try:
            file_store = open_file_store(files) if files is not None else None
            database = Database(persistence)
            # Module-level code (auth_config.py, crons.py) may read pyconvex.env.
            environment.use_database(database)
            app = load_app(app_dir)
            write_generated(app_dir, app.registry, app.schema)
            return cls(
                persistence,
                app.registry,
                app.schema,
                admin_key_file=key_file,
                functions_dir=Path(app_dir),
                database=database,
                files_dir=files_dir,
                file_store=file_store,
                http_router=app.http_router,
                auth_providers=app.auth_providers,
                sign_in=parse_sign_in(app.modules.get("auth_config")),
                crons=app.crons,
            )
        except BaseException:
            if database is not None:
                database.close()
            persistence.close()
            raise

    # -- code ---------------------------------------------------------------

    def reload(self, functions_dir: str | Path | None = None) -> LoadedApp:
        """Load the app again and swap it in atomically.

        Everything is checked first (imports, function definitions, the schema
        against existing data); on any error the old functions and schema keep
        serving and the error is raised.
        """
        with self._reload_lock:
            folder = Path(functions_dir) if functions_dir is not None else self.functions_dir
            if folder is None:
                raise ValueError("This backend was not loaded from a functions folder")
            app = load_app(folder)
            check_crons(app.crons, app.registry)
            self.database.apply_schema(app.schema)
            write_generated(folder, app.registry, app.schema)
            self.executor.swap_registry(app.registry)
            self.registry, self.schema, self.functions_dir = app.registry, app.schema, folder
            self.http_router = app.http_router
            self.signin.config = parse_sign_in(app.modules.get("auth_config"))
            self._app_providers = app.auth_providers
            self._trust_own_issuer()  # the key cache is kept
            self.scheduler.set_crons(app.crons)
            return app

    # -- admin key --------------------------------------------------------

    def check_admin_key(self, key: str) -> bool:
        """Whether ``key`` is this deployment's admin key (constant-time)."""
        stored = self.persistence.get_global(_ADMIN_KEY_HASH)
        return stored is not None and hmac.compare_digest(stored, _hash(key))

    def _load_admin_key(self, key_file: Path | None) -> str | None:
        stored = self.persistence.get_global(_ADMIN_KEY_HASH)
        shared = isinstance(self.persistence, PostgresPersistence)
        given = os.environ.get(ADMIN_KEY_ENV, "").strip() if shared else ""
        if given:
            # Nodes of one deployment are given its key by the operator.
            if stored is None or not hmac.compare_digest(stored, _hash(given)):
                self.persistence.write((), (), [(_ADMIN_KEY_HASH, _hash(given))])
            return given
        if stored is not None and key_file is not None and key_file.exists():
            key = key_file.read_text().strip()
            if hmac.compare_digest(stored, _hash(key)):
                return key
        if stored is not None and shared:
            # Other nodes serve this deployment with the stored key; a node
            # that does not know it must not replace it under them.
            return None
        # First start (or the key file was lost): issue a new key. Only its hash
        # is stored with the data; the key itself goes to the owner-only file.
        key = f"pyconvex-admin|{secrets.token_urlsafe(32)}"
        self.persistence.write((), (), [(_ADMIN_KEY_HASH, _hash(key))])
        if key_file is not None:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(key + "\n")
        return key

    def _tidy(self) -> None:
        # Mutation records answer replays after reconnects (seconds to minutes);
        # keep them for hours, then drop them so they do not grow without bound.
        while not self._stop.wait(SESSION_REQUEST_PRUNE_PERIOD_SECONDS):
            try:
                prune_session_requests(self.database, SESSION_REQUEST_RETENTION_SECONDS)
            except Exception:  # the database is closing; the next start tidies up
                return

    def set_url(self, url: str) -> None:
        """The deployment URL: upload and file URLs start with it; it issues sign-in tokens."""
        self.files.base_url = url.rstrip("/")
        self.auth.keys.unpin(self.signin.issuer)
        self.signin.issuer = url.rstrip("/")
        self._trust_own_issuer()

    def _trust_own_issuer(self) -> None:
        # Tokens of the built-in sign-in go through the same verification as any
        # OpenID provider's; only their keys are looked up in-process.
        self.auth.providers = (*self._app_providers, self.signin.provider)
        self.auth.keys.pin(self.signin.issuer, self.signin.keys.jwks)

    def _storage_secret(self) -> bytes:
        stored = self.persistence.get_global(_STORAGE_SECRET)
        if stored is None:
            stored = secrets.token_hex(32)
            self.persistence.write((), (), [(_STORAGE_SECRET, stored)])
        return bytes.fromhex(stored)

    def close(self) -> None:
        """Stop the scheduler, the functions and the committer, and close the store."""
        self._stop.set()
        self.scheduler.stop()
        self.executor.close()
        self.files.close()
        environment.forget_database(self.database)
        self.database.close()
        self.persistence.close()
        if self._files_tmp is not None:
            self._files_tmp.cleanup()


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
