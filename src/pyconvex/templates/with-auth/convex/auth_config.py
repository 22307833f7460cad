"""Who can sign in: the identity providers whose tokens this app trusts.

This is Convex's ``auth.config.ts`` in Python. pyconvex does not verify tokens
yet, so the list is empty: every caller is signed out, and a request that
carries a token is refused. Once token verification arrives, list your
provider here, for example::

    providers = [
        {"domain": "https://your-app.clerk.accounts.dev", "applicationID": "convex"},
    ]

The functions in this folder already handle both cases, so nothing else needs
to change.
"""

providers: list[dict[str, str]] = []
