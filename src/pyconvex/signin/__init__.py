"""Built-in sign-in: pyconvex as its own OpenID issuer, so an app needs no outside provider.

* :mod:`~pyconvex.signin.keys`: the deployment's signing keys (JWKS published);
* :mod:`~pyconvex.signin.passwords`: argon2id password hashes;
* :mod:`~pyconvex.signin.store`: accounts, sessions and codes in system tables;
* :mod:`~pyconvex.signin.service`: sign-up, sign-in, refresh, sign-out, codes;
* :mod:`~pyconvex.signin.oauth`: OAuth / OpenID sign-in with provider presets;
* :mod:`~pyconvex.signin.config`: what ``sign_in`` in ``auth_config.py`` turns on.

The HTTP routes are in :mod:`pyconvex.server.signin`.
"""
