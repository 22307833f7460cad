"""Who can sign in: this app's own sign-in, plus any identity providers it trusts.

This is Convex's ``auth.config.ts`` in Python (see docs/concepts/auth.md).

``sign_in`` turns on pyconvex's built-in sign-in: users sign up with an email
and a password at ``/api/auth/signup`` and get a token the official clients
take (``client.setAuth(...)``). ``providers`` lists outside issuers whose
tokens are trusted too, for example::

    providers = [
        {"domain": "https://your-app.clerk.accounts.dev", "applicationID": "convex"},
    ]
"""

sign_in = {"password": True}

providers: list[dict[str, str]] = []
