"""``pyconvex dashboard``: open the deployment's dashboard in a browser.

The dashboard is served by the deployment itself at ``<url>/dashboard/``.
The command prints that URL and opens it (``--no-open``: only print). When
it knows the admin key (``--admin-key``, ``PYCONVEX_ADMIN_KEY`` or the local
key file), the browser is given it in the URL's fragment, which never leaves
the browser: the page moves it to the tab's session storage and removes it from
the address bar. The printed URL never contains the key.
"""

from __future__ import annotations

import webbrowser
from urllib.parse import quote

import click

from pyconvex.cli.config import find_config, resolve_target, target_options
from pyconvex.cli.main import main

__all__ = ["dashboard", "dashboard_url"]


def dashboard_url(deployment_url: str, admin_key: str | None = None) -> str:
    """The dashboard's URL on a deployment, signing in with ``admin_key`` if given."""
    url = deployment_url.rstrip("/") + "/dashboard/"
    return f"{url}#adminKey={quote(admin_key, safe='')}" if admin_key else url


@main.command()
@target_options
@click.option(
    "--open/--no-open",
    "open_browser",
    default=True,
    show_default=True,
    help="Open the dashboard in a browser (else only print its URL).",
)
def dashboard(url: str | None, prod: bool, admin_key: str | None, open_browser: bool) -> None:
    """Open the dashboard of the deployment (the project's dev deployment by default)."""
    target = resolve_target(find_config(), url=url, prod=prod, admin_key=admin_key)
    click.echo(f"Dashboard: {dashboard_url(target.url)}")
    if target.admin_key is None:
        click.echo(f"Sign in with the deployment's admin key ({target.key_hint}).")
    if open_browser and not webbrowser.open(dashboard_url(target.url, target.admin_key)):
        click.echo("Could not open a browser; open the URL above.", err=True)
