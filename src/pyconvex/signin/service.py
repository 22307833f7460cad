"""Built-in sign-in: accounts, sessions and tokens, with pyconvex as the issuer.

A signed-in user holds two tokens:

* an **access token**, a JWT signed by the deployment's own key (``iss`` = the
  deployment URL, ``aud`` = ``"convex"``, ``sub`` = the user's subject), which
  the clients send as usual (``setAuth``) and which the server verifies through
  the very same path as any OpenID provider's tokens;
* a **refresh token**, opaque and single-use: each refresh hands out a new one.
  Presenting an already used one revokes the session (it was copied).

Signing out deletes the session, so its refresh token is dead; access tokens
are short-lived (:data:`~pyconvex.knobs.AUTH_ACCESS_TOKEN_SECONDS`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from pyconvex import knobs
from pyconvex.auth.config import OidcProvider
from pyconvex.auth.verifier import identity_from_claims
from pyconvex.database.database import Database
from pyconvex.database.transaction import Transaction
from pyconvex.errors import PyConvexError
from pyconvex.functions.executor import Executor
from pyconvex.signin.config import SignInConfig
from pyconvex.signin.keys import IssuerKeys
from pyconvex.signin.passwords import check_password, hash_password, needs_rehash
from pyconvex.signin.store import ACCOUNTS, CODES, SESSIONS, Store, digest

__all__ = ["AUDIENCE", "Profile", "SignInError", "SignInService", "Tokens"]

log = logging.getLogger("pyconvex.signin")

AUDIENCE = "convex"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SignInError(PyConvexError):
    """A sign-in request refused: answered with ``status`` and ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class Tokens:
    """What a successful sign-in returns to the client."""

    token: str
    refresh_token: str
    expires_at: float

    def to_json(self) -> dict[str, Any]:
        """The response body: ``{"token", "refreshToken", "expiresAt"}``."""
        return {
            "token": self.token,
            "refreshToken": self.refresh_token,
            "expiresAt": self.expires_at,
        }


@dataclass(frozen=True, slots=True)
class Profile:
    """Who an OAuth provider says signed in.

    Attributes:
        email_verified: the provider vouches for the email (then accounts link by it).
    """

    provider: str
    account_id: str
    email: str | None
    email_verified: bool
    name: str | None = None
    image: str | None = None


class SignInService:
    """The deployment's built-in sign-in.

    Args:
        database: where accounts and sessions live (system tables).
        executor: runs the app's ``on_user`` and ``send_code`` functions.
        keys: the deployment's signing keys.
        issuer: the deployment's URL (``iss`` of its tokens).
        config: what the app turned on (``sign_in`` in ``auth_config.py``).
    """

    def __init__(
        self,
        database: Database,
        executor: Executor,
        keys: IssuerKeys,
        issuer: str,
        config: SignInConfig | None = None,
    ) -> None:
        self.store = Store(database)
        self.executor = executor
        self.keys = keys
        self.issuer = issuer.rstrip("/")
        self.config = config or SignInConfig()

    @property
    def provider(self) -> OidcProvider:
        """The provider entry that makes the server trust its own tokens."""
        return OidcProvider(self.issuer, AUDIENCE)

    # -- passwords ------------------------------------------------------------

    async def sign_up(self, email: str, password: str, name: str | None = None) -> Tokens:
        """Create a password account and sign it in.

        Raises:
            SignInError: password sign-in is off, a bad email or password, or the
                email already has an account.
        """
        self._require_password()
        email = _email(email)
        _check_password_rules(password)
        hashed = await asyncio.to_thread(hash_password, password)

        def create(transaction: Transaction) -> dict[str, Any]:
            if Store.first(transaction, ACCOUNTS, "by_email", email=email) is not None:
                raise SignInError(409, "AccountExists", "An account with this email already exists")
            row = {
                "provider": "password",
                "providerAccountId": email,
                "subject": secrets.token_hex(16),
                "email": email,
                "emailVerified": False,
                "secret": hashed,
            }
            if name:
                row["name"] = name
            account_id = transaction.insert(ACCOUNTS, row)
            return {**row, "_id": account_id}

        account = await self.store.write(create)
        tokens = await self._start_session(account)
        if self.config.send_code is not None:
            await self._send_code(account, "verify")
        return tokens

    async def sign_in(self, email: str, password: str) -> Tokens:
        """Sign in with a password.

        Raises:
            SignInError: 401 ``InvalidCredentials`` for a wrong email or password alike.
        """
        self._require_password()
        email = email.strip().lower()
        account = self._password_account(self.store.snapshot(), email)
        stored = account["secret"] if account is not None else None
        if not await asyncio.to_thread(check_password, stored, password):
            log.info("Refused a password sign-in for %s", email)
            raise SignInError(401, "InvalidCredentials", "Invalid email or password")
        assert account is not None and stored is not None
        if needs_rehash(stored):
            rehashed = await asyncio.to_thread(hash_password, password)
            await self.store.write(lambda t: t.patch(account["_id"], {"secret": rehashed}))
        return await self._start_session(account)

    def _password_account(self, transaction: Transaction, email: str) -> Any:
        return Store.first(
            transaction,
            ACCOUNTS,
            "by_provider_account",
            provider="password",
            providerAccountId=email,
        )

    def _require_password(self) -> None:
        if not self.config.password:
            raise SignInError(
                404,
                "PasswordSignInDisabled",
                "Password sign-in is off: set sign_in = {'password': True} in "
                "convex/auth_config.py",
            )

    # -- codes: email verification and password reset -----------------------

    async def request_code(self, email: str, kind: str) -> None:
        """Send a ``verify`` or ``reset`` code to ``email`` (nothing if it has no account).

        Raises:
            SignInError: no ``send_code`` function is configured, or a bad kind.
        """
        if kind not in ("verify", "reset"):
            raise SignInError(400, "BadRequest", "kind must be 'verify' or 'reset'")
        if self.config.send_code is None:
            raise SignInError(
                400,
                "NoCodeDelivery",
                "Codes cannot be sent: set sign_in['send_code'] in convex/auth_config.py",
            )
        account = self._password_account(self.store.snapshot(), email.strip().lower())
        if account is None:
            log.info("A %s code was asked for %s, which has no password account", kind, email)
            return  # answered like a success: which emails have accounts stays private
        await self._send_code(account, kind)

    async def _send_code(self, account: dict[str, Any], kind: str) -> None:
        code = f"{secrets.randbelow(10**8):08d}"
        expires = self.store.now_ms() + knobs.AUTH_CODE_SECONDS * 1000

        def store(transaction: Transaction) -> None:
            for old in Store.all(
                transaction, CODES, "by_account_kind", accountId=account["_id"], kind=kind
            ):
                transaction.delete(old["_id"])
            transaction.insert(
                CODES,
                {
                    "accountId": account["_id"],
                    "kind": kind,
                    "codeHash": digest(code),
                    "expiresAt": expires,
                    "attempts": 0.0,
                },
            )

        await self.store.write(store)
        assert self.config.send_code is not None
        args = {"email": account["email"], "code": code, "kind": kind}
        await self.executor.run_action(self.config.send_code, args, allow_internal=True)

    async def _use_code(self, account: dict[str, Any], kind: str, code: str) -> None:
        def check(transaction: Transaction) -> bool:
            row = Store.first(
                transaction, CODES, "by_account_kind", accountId=account["_id"], kind=kind
            )
            if row is None or row["expiresAt"] < self.store.now_ms():
                return False
            if not secrets.compare_digest(row["codeHash"], digest(code.strip())):
                attempts = row["attempts"] + 1
                if attempts >= knobs.AUTH_CODE_MAX_ATTEMPTS:
                    transaction.delete(row["_id"])  # guessing is over: ask for a new code
                else:
                    transaction.patch(row["_id"], {"attempts": attempts})
                return False
            transaction.delete(row["_id"])
            return True

        if not await self.store.write(check):
            raise SignInError(400, "InvalidCode", "The code is wrong or has expired")

    async def verify_email(self, email: str, code: str) -> None:
        """Mark the email of a password account verified, with the code sent to it.

        Raises:
            SignInError: a wrong, used or expired code.
        """
        account = self._password_account(self.store.snapshot(), email.strip().lower())
        if account is None:
            raise SignInError(400, "InvalidCode", "The code is wrong or has expired")
        await self._use_code(account, "verify", code)
        await self.store.write(lambda t: t.patch(account["_id"], {"emailVerified": True}))

    async def reset_password(self, email: str, code: str, new_password: str) -> Tokens:
        """Set a new password with a reset code; every other session is signed out.

        Raises:
            SignInError: a wrong code or a password that breaks the rules.
        """
        account = self._password_account(self.store.snapshot(), email.strip().lower())
        if account is None:
            raise SignInError(400, "InvalidCode", "The code is wrong or has expired")
        _check_password_rules(new_password)
        await self._use_code(account, "reset", code)
        hashed = await asyncio.to_thread(hash_password, new_password)

        def reset(transaction: Transaction) -> None:
            # Receiving the code proves the email, too.
            transaction.patch(account["_id"], {"secret": hashed, "emailVerified": True})
            for session in Store.all(
                transaction, SESSIONS, "by_subject", subject=account["subject"]
            ):
                transaction.delete(session["_id"])

        await self.store.write(reset)
        return await self._start_session({**account, "emailVerified": True})

    # -- sessions -------------------------------------------------------------

    async def _start_session(self, account: dict[str, Any]) -> Tokens:
        secret = secrets.token_urlsafe(32)
        expires = self.store.now_ms() + knobs.AUTH_REFRESH_TOKEN_SECONDS * 1000

        def create(transaction: Transaction) -> str:
            session_id: str = transaction.insert(
                SESSIONS,
                {
                    "subject": account["subject"],
                    "accountId": account["_id"],
                    "secretHash": digest(secret),
                    "expiresAt": expires,
                },
            )
            return session_id

        session_id = await self.store.write(create)
        tokens = self._tokens(account, session_id, secret)
        await self._link_user(account, tokens.token)
        return tokens

    def _tokens(self, account: dict[str, Any], session_id: str, secret: str) -> Tokens:
        now = int(self.store.now_ms() / 1000)
        exp = now + int(knobs.AUTH_ACCESS_TOKEN_SECONDS)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": account["subject"],
            "aud": AUDIENCE,
            "iat": now,
            "exp": exp,
            "sid": session_id,
        }
        for field, claim in (("email", "email"), ("emailVerified", "email_verified")):
            if account.get(field) is not None:
                claims[claim] = account[field]
        for field, claim in (("name", "name"), ("image", "picture")):
            if account.get(field):
                claims[claim] = account[field]
        return Tokens(self.keys.sign(claims), f"{session_id}.{secret}", float(exp))

    async def refresh(self, refresh_token: str) -> Tokens:
        """New tokens for a session; the refresh token given is used up.

        Raises:
            SignInError: 401 ``InvalidRefreshToken`` (unknown, expired, revoked or reused).
        """
        session_id, _, secret = refresh_token.partition(".")
        new_secret = secrets.token_urlsafe(32)

        def rotate(transaction: Transaction) -> Any:
            session = _session(transaction, session_id)
            if session is None or session["expiresAt"] < self.store.now_ms():
                return None
            presented = digest(secret)
            if secrets.compare_digest(presented, session.get("previousHash", "")):
                # An old refresh token came back: someone has a copy. End the session.
                log.warning("A used refresh token was presented; session %s revoked", session_id)
                transaction.delete(session_id)
                return False
            if not secrets.compare_digest(presented, session["secretHash"]):
                return None
            transaction.patch(
                session_id,
                {
                    "secretHash": digest(new_secret),
                    "previousHash": session["secretHash"],
                    "expiresAt": self.store.now_ms() + knobs.AUTH_REFRESH_TOKEN_SECONDS * 1000,
                },
            )
            return transaction.get(session["accountId"], system=True)

        account = await self.store.write(rotate)
        if not account:
            raise SignInError(401, "InvalidRefreshToken", "The session has ended: sign in again")
        return self._tokens(account, session_id, new_secret)

    async def sign_out(
        self, refresh_token: str | None = None, session_id: str | None = None
    ) -> None:
        """End a session (by its refresh token or its id); its refresh token dies with it."""
        if refresh_token is not None:
            session_id = refresh_token.partition(".")[0]
        if not session_id:
            return

        def end(transaction: Transaction) -> None:
            if _session(transaction, session_id) is not None:
                transaction.delete(session_id)

        await self.store.write(end)

    # -- accounts from OAuth ----------------------------------------------------

    async def oauth_account(self, profile: Profile) -> dict[str, Any]:
        """The account an OAuth sign-in is for: found, linked by verified email, or new."""
        email = profile.email.strip().lower() if profile.email else None

        def find_or_create(transaction: Transaction) -> dict[str, Any]:
            existing = Store.first(
                transaction,
                ACCOUNTS,
                "by_provider_account",
                provider=profile.provider,
                providerAccountId=profile.account_id,
            )
            fields = _profile_fields(profile, email)
            if existing is not None:
                transaction.patch(existing["_id"], fields)
                return {**existing, **fields}
            subject = secrets.token_hex(16)
            if email is not None and profile.email_verified:
                # Link only verified emails on both sides: an unverified address
                # proves nothing about who owns it.
                for other in Store.all(transaction, ACCOUNTS, "by_email", email=email):
                    if other.get("emailVerified"):
                        subject = other["subject"]
                        break
            row = {
                "provider": profile.provider,
                "providerAccountId": profile.account_id,
                "subject": subject,
                **fields,
            }
            return {**row, "_id": transaction.insert(ACCOUNTS, row)}

        return await self.store.write(find_or_create)

    async def login_code(self, account: dict[str, Any]) -> str:
        """A one-time code the client trades for tokens (after an OAuth redirect)."""
        secret = secrets.token_urlsafe(24)
        expires = self.store.now_ms() + knobs.AUTH_LOGIN_CODE_SECONDS * 1000

        def store(transaction: Transaction) -> str:
            code_id: str = transaction.insert(
                CODES,
                {
                    "accountId": account["_id"],
                    "kind": "login",
                    "codeHash": digest(secret),
                    "expiresAt": expires,
                    "attempts": 0.0,
                },
            )
            return code_id

        return f"{await self.store.write(store)}.{secret}"

    async def exchange_login_code(self, code: str) -> Tokens:
        """Trade a one-time login code for tokens (once).

        Raises:
            SignInError: an unknown, used or expired code.
        """
        code_id, _, secret = code.partition(".")

        def take(transaction: Transaction) -> Any:
            row = _row(transaction, CODES, code_id)
            if row is None or row["kind"] != "login":
                return None
            if not secrets.compare_digest(row["codeHash"], digest(secret)):
                return None
            transaction.delete(code_id)
            if row["expiresAt"] < self.store.now_ms():
                return None
            return transaction.get(row["accountId"], system=True)

        account = await self.store.write(take)
        if account is None:
            raise SignInError(400, "InvalidCode", "The sign-in code is wrong or has expired")
        return await self._start_session(account)

    # -- the app's hook -------------------------------------------------------

    async def _link_user(self, account: dict[str, Any], token: str) -> None:
        hook = self.config.on_user
        if hook is None:
            return
        import jwt

        claims = jwt.decode(token, options={"verify_signature": False})
        identity = identity_from_claims(claims)
        args: dict[str, Any] = {
            "provider": account["provider"],
            "email": account.get("email"),
            "emailVerified": bool(account.get("emailVerified")),
            "name": account.get("name"),
            "image": account.get("image"),
        }
        result = await self.executor.run_mutation(
            hook, args, identity=identity, allow_internal=True
        )
        if isinstance(result.value, str) and result.value != account.get("userId"):
            value = result.value
            await self.store.write(lambda t: t.patch(account["_id"], {"userId": value}))


def _session(transaction: Transaction, session_id: str) -> Any:
    return _row(transaction, SESSIONS, session_id)


def _row(transaction: Transaction, table: str, document_id: str) -> Any:
    """The row of ``table`` with this id; None for an id of nothing, or of another table."""
    try:
        if not document_id or transaction.table_name_for_id(document_id) != table:
            return None
    except PyConvexError:  # not an id at all
        return None
    return transaction.get(document_id, system=True)


def _profile_fields(profile: Profile, email: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"emailVerified": profile.email_verified}
    if email is not None:
        fields["email"] = email
    if profile.name:
        fields["name"] = profile.name
    if profile.image:
        fields["image"] = profile.image
    return fields


def _email(raw: Any) -> str:
    email = str(raw or "").strip().lower()
    if not _EMAIL.match(email):
        raise SignInError(400, "InvalidEmail", "Enter a valid email address")
    return email


def _check_password_rules(password: Any) -> None:
    if not isinstance(password, str) or len(password) < knobs.AUTH_PASSWORD_MIN_LENGTH:
        raise SignInError(
            400,
            "InvalidPassword",
            f"Passwords need at least {knobs.AUTH_PASSWORD_MIN_LENGTH} characters",
        )
    if len(password) > 1024:
        raise SignInError(400, "InvalidPassword", "Passwords may have at most 1024 characters")
