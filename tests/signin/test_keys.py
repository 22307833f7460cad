"""The deployment's signing keys (signin/keys.py): made once, kept, rotated, published."""

from __future__ import annotations

from pathlib import Path

import jwt

from pyconvex.signin.keys import IssuerKeys
from pyconvex.storage.sqlite import SqlitePersistence


def test_keys_survive_a_restart_and_rotation_keeps_old_tokens_verifiable(
    tmp_path: Path,
) -> None:
    persistence = SqlitePersistence(tmp_path / "data.sqlite3")
    keys = IssuerKeys(persistence)
    token = keys.sign({"sub": "ada"})
    published = keys.jwks()
    assert [k["kid"] for k in published["keys"]] == [jwt.get_unverified_header(token)["kid"]]
    assert all("d" not in key for key in published["keys"])  # public halves only
    persistence.close()

    reopened = SqlitePersistence(tmp_path / "data.sqlite3")
    again = IssuerKeys(reopened)
    assert again.jwks() == published
    new_kid = again.rotate()
    rotated = again.sign({"sub": "bob"})
    assert jwt.get_unverified_header(rotated)["kid"] == new_kid
    keyset = jwt.PyJWKSet.from_dict(again.jwks())
    for signed in (token, rotated):
        kid = jwt.get_unverified_header(signed)["kid"]
        assert jwt.decode(signed, keyset[kid].key, algorithms=["RS256"])["sub"] in {"ada", "bob"}
    reopened.close()
