"""``pyconvex env``: a deployment's environment variables.

``env list``, ``env get NAME``, ``env set NAME VALUE`` (or ``NAME=VALUE``, or
the value on stdin) and ``env remove NAME`` (aliases ``rm``, ``unset``), on the
project's dev deployment or the one chosen with ``--prod`` / ``--url``. They use
the admin endpoints ``GET`` and ``POST /api/admin/env``; confirmations go to
stderr, values to stdout, so ``pyconvex env list > vars.env`` works.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import click

from pyconvex.cli.client import AdminClient, DeploymentError
from pyconvex.cli.config import Target, find_config, resolve_target, target_options
from pyconvex.cli.main import main

__all__ = ["env"]

_ENDPOINT = "/api/admin/env"


@main.group()
def env() -> None:
    """Set, get, list and remove a deployment's environment variables."""


@env.command("list")
@target_options
def list_variables(url: str | None, prod: bool, admin_key: str | None) -> None:
    """Print every variable as NAME=value."""
    target = _target(url, prod, admin_key)
    variables = _variables(target, None)
    if not variables:
        click.echo(f"No environment variables set on {target.url}", err=True)
    for name in sorted(variables):
        click.echo(f"{name}={variables[name]}")


@env.command("get")
@click.argument("name")
@target_options
def get_variable(name: str, url: str | None, prod: bool, admin_key: str | None) -> None:
    """Print the value of variable NAME."""
    target = _target(url, prod, admin_key)
    variables = _variables(target, None)
    if name not in variables:
        raise click.ClickException(f'Environment variable "{name}" not found on {target.url}')
    click.echo(variables[name])


@env.command("set")
@click.argument("name")
@click.argument("value", required=False)
@target_options
def set_variable(
    name: str, value: str | None, url: str | None, prod: bool, admin_key: str | None
) -> None:
    """Set variable NAME to VALUE (also NAME=VALUE; without a value, read it from stdin)."""
    if value is None and "=" in name:
        name, value = name.split("=", 1)
    if value is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise click.ClickException(f"No value given for {name}: pyconvex env set NAME VALUE")
        # Piped in (keeps secrets out of shell history); one trailing newline is not part of it.
        value = sys.stdin.read().removesuffix("\n")
    target = _target(url, prod, admin_key)
    _variables(target, [{"name": name, "value": value}])
    click.echo(f"✓ Set {name} on {target.url}", err=True)


@env.command("remove")
@click.argument("name")
@target_options
def remove_variable(name: str, url: str | None, prod: bool, admin_key: str | None) -> None:
    """Remove variable NAME (nothing happens if it is not set)."""
    target = _target(url, prod, admin_key)
    _variables(target, [{"name": name, "value": None}])
    click.echo(f"✓ Removed {name} from {target.url}", err=True)


# Convex's CLI accepts these spellings too (kept out of --help).
for _alias in ("rm", "unset"):
    _hidden = copy.copy(remove_variable)
    _hidden.hidden = True
    env.add_command(_hidden, _alias)


def _target(url: str | None, prod: bool, admin_key: str | None) -> Target:
    return resolve_target(find_config(), url=url, prod=prod, admin_key=admin_key)


def _variables(target: Target, changes: list[dict[str, Any]] | None) -> dict[str, str]:
    """Apply ``changes`` (None: just read) and return the variables afterwards."""
    with AdminClient(target.url, target.require_admin_key()) as client:
        if changes is None:
            answer = client.get(_ENDPOINT)
        else:
            answer = client.post(_ENDPOINT, {"changes": changes})
    variables = answer.get("variables") if isinstance(answer, dict) else None
    if not isinstance(variables, dict):
        raise DeploymentError(f"{target.url}{_ENDPOINT} answered without a variables object")
    return {str(k): str(v) for k, v in variables.items()}
