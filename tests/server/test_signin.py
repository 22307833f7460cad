"""Built-in sign-in over HTTP (server/signin.py): the deployment as its own issuer.

Sign-up, sign-in, the app's link hook, tokens accepted by the function API
(through the same verification as any OpenID provider's), refresh with
single-use refresh tokens, sign-out, email verification and password reset
codes delivered by the app's action.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from pyconvex import define_schema, define_table, v
from pyconvex.application import Backend
from pyconvex.clock import ManualClock
from pyconvex.database.database import Database
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.signin.config import SignInConfig
from pyconvex.storage.memory import MemoryPersistence
from tests.signin import app

URL = "http://deployment.test"
SCHEMA = define_schema(
    {
        "users": define_table(
            {"tokenIdentifier": v.string(), "email": v.string(), "provider": v.string()}
        ).index("by_token", ["tokenIdentifier"]),
        "outbox": define_table({"email": v.string(), "code": v.string(), "kind": v.string()}),
    }
)
CONFIG = SignInConfig(password=True, on_user="app:on_user", send_code="app:send_code")


@pytest.fixture
def clock() -> ManualClock:
    import time

    return ManualClock(time.time_ns())


@pytest.fixture
async def client(clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    persistence = MemoryPersistence()
    backend = Backend(
        persistence,
        Registry.from_modules({"app": app}),
        SCHEMA,
        database=Database(persistence, clock=clock),
        url=URL,
        sign_in=CONFIG,
    )
    transport = httpx.ASGITransport(app=create_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url=URL) as http:
        http.backend = backend  # type: ignore[attr-defined]
        yield http
    backend.close()


async def post(client: httpx.AsyncClient, route: str, **body: Any) -> httpx.Response:
    return await client.post(f"/api/auth/{route}", json=body)


async def me(client: httpx.AsyncClient, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/api/query", json={"path": "app:me", "args": {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["value"]


async def last_code(client: httpx.AsyncClient, email: str, kind: str) -> str:
    response = await client.post(
        "/api/query", json={"path": "app:last_code", "args": {"email": email, "kind": kind}}
    )
    code: str = response.json()["value"]
    return code


async def test_the_deployment_publishes_itself_as_an_issuer(client: httpx.AsyncClient) -> None:
    discovery = (await client.get("/.well-known/openid-configuration")).json()
    assert discovery["issuer"] == URL
    jwks = await client.get(discovery["jwks_uri"].removeprefix(URL))
    assert jwks.headers["content-type"].startswith("application/jwk-set+json")
    (key,) = jwks.json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and "d" not in key


async def test_sign_up_sign_in_and_the_link_hook(client: httpx.AsyncClient) -> None:
    signed_up = await post(client, "signup", email="Ada@Example.com", password="correct horse")
    assert signed_up.status_code == 200, signed_up.text
    tokens = signed_up.json()
    claims = jwt.decode(tokens["token"], options={"verify_signature": False})
    assert claims["iss"] == URL and claims["aud"] == "convex" and claims["exp"] > claims["iat"]
    seen = await me(client, tokens["token"])
    assert seen["identity"]["tokenIdentifier"] == f"{URL}|{claims['sub']}"
    assert seen["identity"]["email"] == "ada@example.com"
    assert seen["identity"]["emailVerified"] is False
    assert seen["user"]["provider"] == "password"  # made by the app's on_user hook
    again = await post(client, "signin", email="ada@example.com", password="correct horse")
    assert (await me(client, again.json()["token"]))["user"]["_id"] == seen["user"]["_id"]
    assert await me(client, None) is None


async def test_sign_in_refusals_are_generic(client: httpx.AsyncClient) -> None:
    await post(client, "signup", email="ada@example.com", password="correct horse")
    wrong_password = await post(client, "signin", email="ada@example.com", password="wrong one")
    no_account = await post(client, "signin", email="eve@example.com", password="wrong one")
    assert wrong_password.status_code == no_account.status_code == 401
    assert (
        wrong_password.json()
        == no_account.json()
        == {
            "code": "InvalidCredentials",
            "message": "Invalid email or password",
        }
    )
    duplicate = await post(client, "signup", email="ada@example.com", password="another one")
    assert duplicate.status_code == 409
    short = await post(client, "signup", email="bob@example.com", password="short")
    assert short.status_code == 400 and short.json()["code"] == "InvalidPassword"
    bad_email = await post(client, "signup", email="bob", password="long enough")
    assert bad_email.json()["code"] == "InvalidEmail"
    garbage = await client.post("/api/auth/signin", content=b"[1]")
    assert garbage.status_code == 400 and garbage.json()["code"] == "BadJsonBody"


async def test_refresh_tokens_are_single_use_and_reuse_ends_the_session(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    tokens = (
        await post(client, "signup", email="ada@example.com", password="correct horse")
    ).json()
    clock.advance(10)
    refreshed = await post(client, "refresh", refreshToken=tokens["refreshToken"])
    assert refreshed.status_code == 200
    fresh = refreshed.json()
    assert fresh["refreshToken"] != tokens["refreshToken"] and fresh["token"] != tokens["token"]
    assert (await me(client, fresh["token"]))["identity"]["email"] == "ada@example.com"
    # The spent token comes back (a copy?): the session ends for everyone holding it.
    reused = await post(client, "refresh", refreshToken=tokens["refreshToken"])
    assert reused.status_code == 401 and reused.json()["code"] == "InvalidRefreshToken"
    assert (await post(client, "refresh", refreshToken=fresh["refreshToken"])).status_code == 401
    assert (await post(client, "refresh", refreshToken="nonsense")).status_code == 401


async def test_sign_out_revokes_the_session(client: httpx.AsyncClient) -> None:
    tokens = (
        await post(client, "signup", email="ada@example.com", password="correct horse")
    ).json()
    other = (await post(client, "signin", email="ada@example.com", password="correct horse")).json()
    assert (await post(client, "signout", refreshToken=tokens["refreshToken"])).json() == {}
    assert (await post(client, "refresh", refreshToken=tokens["refreshToken"])).status_code == 401
    # Another device's session goes on.
    assert (await post(client, "refresh", refreshToken=other["refreshToken"])).status_code == 200


async def test_access_tokens_expire(client: httpx.AsyncClient, clock: ManualClock) -> None:
    tokens = (
        await post(client, "signup", email="ada@example.com", password="correct horse")
    ).json()
    clock.advance(3600 + 10)
    response = await client.post(
        "/api/query",
        json={"path": "app:me", "args": {}},
        headers={"Authorization": f"Bearer {tokens['token']}"},
    )
    assert response.status_code == 401
    renewed = (await post(client, "refresh", refreshToken=tokens["refreshToken"])).json()
    assert (await me(client, renewed["token"]))["identity"]["email"] == "ada@example.com"


async def test_email_verification_with_a_code(client: httpx.AsyncClient) -> None:
    await post(client, "signup", email="ada@example.com", password="correct horse")
    code = await last_code(client, "ada@example.com", "verify")  # sent at sign-up
    assert len(code) == 8 and code.isdigit()
    wrong = await post(client, "verify-email", email="ada@example.com", code="00000000")
    assert wrong.status_code == 400 and wrong.json()["code"] == "InvalidCode"
    assert (await post(client, "verify-email", email="ada@example.com", code=code)).json() == {}
    used = await post(client, "verify-email", email="ada@example.com", code=code)
    assert used.status_code == 400
    tokens = (
        await post(client, "signin", email="ada@example.com", password="correct horse")
    ).json()
    assert (await me(client, tokens["token"]))["identity"]["emailVerified"] is True


async def test_codes_die_after_too_many_guesses_or_when_old(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await post(client, "signup", email="ada@example.com", password="correct horse")
    code = await last_code(client, "ada@example.com", "verify")
    for _ in range(5):
        await post(client, "verify-email", email="ada@example.com", code="12345678")
    assert (
        await post(client, "verify-email", email="ada@example.com", code=code)
    ).status_code == 400
    await post(client, "code", email="ada@example.com", kind="verify")
    late = await last_code(client, "ada@example.com", "verify")
    clock.advance(901)
    assert (
        await post(client, "verify-email", email="ada@example.com", code=late)
    ).status_code == 400


async def test_password_reset_signs_out_every_session(client: httpx.AsyncClient) -> None:
    tokens = (
        await post(client, "signup", email="ada@example.com", password="correct horse")
    ).json()
    assert (await post(client, "code", email="ada@example.com", kind="reset")).json() == {}
    assert (await post(client, "code", email="nobody@example.com", kind="reset")).json() == {}
    code = await last_code(client, "ada@example.com", "reset")
    reset = await post(
        client, "reset-password", email="ada@example.com", code=code, password="battery staple"
    )
    assert reset.status_code == 200
    assert (await post(client, "refresh", refreshToken=tokens["refreshToken"])).status_code == 401
    old = await post(client, "signin", email="ada@example.com", password="correct horse")
    assert old.status_code == 401
    new = await post(client, "signin", email="ada@example.com", password="battery staple")
    assert new.status_code == 200
    assert await last_code(client, "nobody@example.com", "reset") is None


async def test_a_forged_token_for_the_deployments_issuer_is_refused(
    client: httpx.AsyncClient,
) -> None:
    from tests.auth.issuer import SigningKey

    tokens = (
        await post(client, "signup", email="ada@example.com", password="correct horse")
    ).json()
    claims = jwt.decode(tokens["token"], options={"verify_signature": False})
    kid = jwt.get_unverified_header(tokens["token"])["kid"]
    forged = SigningKey(kid).sign(claims)
    response = await client.post(
        "/api/query",
        json={"path": "app:me", "args": {}},
        headers={"Authorization": f"Bearer {forged}"},
    )
    assert response.status_code == 401


async def test_password_sign_in_can_be_off() -> None:
    backend = Backend(MemoryPersistence(), Registry(), url=URL)
    transport = httpx.ASGITransport(app=create_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url=URL) as http:
        response = await http.post(
            "/api/auth/signup", json={"email": "a@b.co", "password": "long enough"}
        )
    backend.close()
    assert response.status_code == 404 and response.json()["code"] == "PasswordSignInDisabled"
