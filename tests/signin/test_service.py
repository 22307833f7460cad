"""Sign-in flows (signin/service.py) without HTTP: accounts from OAuth profiles, login codes."""

from __future__ import annotations

from collections.abc import Iterator

import jwt
import pytest

from pyconvex.clock import ManualClock
from pyconvex.database.database import Database
from pyconvex.functions.executor import Executor
from pyconvex.functions.registry import Registry
from pyconvex.signin.config import SignInConfig
from pyconvex.signin.keys import IssuerKeys
from pyconvex.signin.service import Profile, SignInError, SignInService
from pyconvex.storage.memory import MemoryPersistence


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service(clock: ManualClock) -> Iterator[SignInService]:
    persistence = MemoryPersistence()
    database = Database(persistence, clock=clock)
    executor = Executor(database, Registry())
    yield SignInService(
        database, executor, IssuerKeys(persistence), "https://app.test/", SignInConfig()
    )
    executor.close()
    database.close()


async def test_a_provider_account_is_found_again_and_updated(service: SignInService) -> None:
    first = await service.oauth_account(Profile("github", "42", "Ada@X.org", True, "Ada"))
    again = await service.oauth_account(Profile("github", "42", "ada@x.org", True, "Ada L."))
    assert again["_id"] == first["_id"] and again["subject"] == first["subject"]
    assert again["name"] == "Ada L." and again["email"] == "ada@x.org"


async def test_linking_needs_verified_emails_on_both_sides(service: SignInService) -> None:
    github = await service.oauth_account(Profile("github", "1", "ada@x.org", True))
    google = await service.oauth_account(Profile("google", "g1", "ada@x.org", True))
    assert google["subject"] == github["subject"]
    unverified = await service.oauth_account(Profile("reddit", "r1", "ada@x.org", False))
    assert unverified["subject"] != github["subject"]
    other = await service.oauth_account(Profile("github", "2", "bob@x.org", True))
    assert other["subject"] != github["subject"]


async def test_login_codes_are_single_use_and_short_lived(
    service: SignInService, clock: ManualClock
) -> None:
    account = await service.oauth_account(Profile("github", "1", "ada@x.org", True, "Ada"))
    code = await service.login_code(account)
    tokens = await service.exchange_login_code(code)
    claims = jwt.decode(tokens.token, options={"verify_signature": False})
    assert claims["iss"] == "https://app.test" and claims["sub"] == account["subject"]
    assert claims["email"] == "ada@x.org" and claims["name"] == "Ada"
    with pytest.raises(SignInError, match="wrong or has expired"):
        await service.exchange_login_code(code)
    late = await service.login_code(account)
    clock.advance(121)
    with pytest.raises(SignInError):
        await service.exchange_login_code(late)
    for garbage in ("", "x.y", "nonsense"):
        with pytest.raises(SignInError):
            await service.exchange_login_code(garbage)


async def test_the_issuer_is_trusted_as_an_openid_provider(service: SignInService) -> None:
    assert service.provider.domain == "https://app.test"
    assert service.provider.application_id == "convex"
