"""``pyconvex.env`` (functions/env.py)."""

from __future__ import annotations

import pytest

from pyconvex.database.database import Database
from pyconvex.database.environment import set_environment_variables
from pyconvex.functions import env as environment
from pyconvex.storage.memory import MemoryPersistence


def test_env_reads_the_deployment_not_the_process() -> None:
    database = Database(MemoryPersistence())
    try:
        environment.use_database(database)
        assert environment.env.get("HOME_OF_THE_APP") is None  # os.environ is not the store
        set_environment_variables(database, {"A": "1", "B": "2"})
        assert dict(environment.env) == {"A": "1", "B": "2"} and len(environment.env) == 2
        with pytest.raises(KeyError):
            environment.env["MISSING"]
        transaction = database.begin(writable=False)
        token = environment.use_transaction(transaction)
        try:
            assert environment.env["A"] == "1"
            assert len(transaction.finalize_reads()) > 0  # the read is recorded
        finally:
            environment._transaction.reset(token)
    finally:
        database.close()


def test_without_a_deployment_there_are_no_variables() -> None:
    database = Database(MemoryPersistence())
    try:
        environment.use_database(database)
        set_environment_variables(database, {"A": "1"})
        assert dict(environment.env) == {"A": "1"}
        environment.forget_database(database)  # the deployment closes
        # An app loaded on its own (codegen, a tool) reads an empty environment.
        assert dict(environment.env) == {} and environment.env.get("A") is None
    finally:
        database.close()
