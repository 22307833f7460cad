"""A small identity provider on loopback, for tests: it signs JWTs and serves its keys.

It serves ``/.well-known/openid-configuration`` and ``/jwks`` over real HTTP
(a thread running the standard library's HTTP server on a free port), counts
the requests, and can rotate its signing key.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = ["Issuer", "SigningKey", "bad_tokens", "running_issuer"]


class SigningKey:
    """A private key with its key id and algorithm (RS256, ES256 or EdDSA)."""

    def __init__(self, kid: str, algorithm: str = "RS256") -> None:
        self.kid = kid
        self.algorithm = algorithm
        if algorithm == "RS256":
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif algorithm == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK."""
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        """A JWT of ``claims`` signed with this key (``header`` overrides the header)."""
        headers = {"kid": self.kid, **header}
        return jwt.encode(claims, self.private, algorithm=self.algorithm, headers=headers)


class Issuer:
    """An OpenID provider's keys and metadata, served by :func:`running_issuer`."""

    def __init__(self, algorithm: str = "RS256") -> None:
        self.url = ""
        self.algorithm = algorithm
        self.keys = [SigningKey("key-1", algorithm)]
        self.requests: list[str] = []
        self.jwks_content_type = "application/json"

    @property
    def key(self) -> SigningKey:
        """The current signing key."""
        return self.keys[-1]

    def rotate(self) -> SigningKey:
        """Start signing with a new key; the old one stays published."""
        self.keys.append(SigningKey(f"key-{len(self.keys) + 1}", self.algorithm))
        return self.key

    def jwks(self) -> dict[str, Any]:
        """The published key set."""
        return {"keys": [key.public_jwk() for key in self.keys]}

    def claims(self, subject: str = "ada", **extra: Any) -> dict[str, Any]:
        """Valid claims for ``subject`` (one hour, audience "convex"), plus ``extra``."""
        now = int(time.time())
        base = {"iss": self.url, "sub": subject, "aud": "convex", "iat": now, "exp": now + 3600}
        return {**base, **extra}

    def token(self, subject: str = "ada", **extra: Any) -> str:
        """A valid token for ``subject``."""
        return self.key.sign(self.claims(subject, **extra))

    def count(self, path: str) -> int:
        """How many times ``path`` was requested."""
        return self.requests.count(path)


@contextmanager
def running_issuer(algorithm: str = "RS256") -> Iterator[Issuer]:
    """An :class:`Issuer` served on a free loopback port for the ``with`` block."""
    issuer = Issuer(algorithm)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.requests.append(self.path)
            if self.path == "/.well-known/openid-configuration":
                body: Any = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                content_type = "application/json"
            elif self.path == "/jwks":
                body, content_type = issuer.jwks(), issuer.jwks_content_type
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def bad_tokens(issuer: Issuer) -> dict[str, str]:
    """One token of each kind a server must refuse, for ``issuer``'s audience "convex"."""
    now = int(time.time())
    good = issuer.claims()
    return {
        "expired": issuer.key.sign({**good, "exp": now - 60, "iat": now - 120}),
        "not yet valid": issuer.key.sign({**good, "nbf": now + 600}),
        "wrong issuer": issuer.key.sign({**good, "iss": "https://evil.example.com"}),
        "wrong audience": issuer.key.sign({**good, "aud": "other"}),
        "bad signature": SigningKey(issuer.key.kid).sign(good),
        "unknown kid": SigningKey("forged").sign(good),
        "alg none": ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
            for part in ({"alg": "none"}, good)
        )
        + ".",
        "HS256 with the public key": jwt.encode(
            good,
            issuer.key.public_jwk()["n"].encode(),
            algorithm="HS256",
            headers={"kid": issuer.key.kid},
        ),
        "malformed": "eyJhbGciOi.garbage",
        "oversized": issuer.key.sign({**good, "padding": "x" * 20_000}),
    }
