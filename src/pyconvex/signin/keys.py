"""The deployment's own signing keys: pyconvex as an OpenID issuer.

Keys are RS256 key pairs generated on first use and stored with the
deployment's data (a global of its persistence), so tokens stay valid across
restarts. The newest key signs; every key is published in the JWKS, so a
rotation never invalidates the tokens already handed out.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pyconvex.storage.base import Persistence

__all__ = ["IssuerKeys"]

_GLOBAL = "auth_signing_keys"
_RS256 = jwt.get_algorithm_by_name("RS256")


class IssuerKeys:
    """The signing keys of one deployment, loaded (or made) lazily.

    Args:
        persistence: where the keys are kept (a global value, with the data).
    """

    def __init__(self, persistence: Persistence) -> None:
        self._persistence = persistence
        self._lock = threading.Lock()
        self._keys: list[tuple[str, Any]] | None = None  # (kid, private key), oldest first

    def _loaded(self) -> list[tuple[str, Any]]:
        with self._lock:
            if self._keys is None:
                stored = self._persistence.get_global(_GLOBAL)
                if stored is None:
                    self._keys = []
                    self._add_key()
                else:
                    self._keys = [
                        (
                            entry["kid"],
                            serialization.load_pem_private_key(
                                entry["pem"].encode(), password=None
                            ),
                        )
                        for entry in json.loads(stored)
                    ]
            return self._keys

    def _add_key(self) -> None:
        assert self._keys is not None
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = f"pyconvex-{int(time.time())}-{len(self._keys) + 1}"
        self._keys.append((kid, private))
        entries = [
            {
                "kid": key_id,
                "pem": key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode(),
            }
            for key_id, key in self._keys
        ]
        self._persistence.write((), (), [(_GLOBAL, json.dumps(entries))])

    def rotate(self) -> str:
        """Sign with a new key from now on (older keys stay published); return its id."""
        self._loaded()
        with self._lock:
            self._add_key()
            assert self._keys is not None
            return self._keys[-1][0]

    def jwks(self) -> dict[str, Any]:
        """The public keys, as a JWKS."""
        keys = []
        for kid, private in self._loaded():
            public: dict[str, Any] = json.loads(_RS256.to_jwk(private.public_key()))
            keys.append({**public, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def sign(self, claims: dict[str, Any]) -> str:
        """A JWT of ``claims`` signed with the newest key."""
        kid, private = self._loaded()[-1]
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})
