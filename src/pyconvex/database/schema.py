"""Schemas: ``define_schema`` and ``define_table``, as in Convex's ``schema.ts``.

A schema lists tables with a document validator and their indexes::

    schema = define_schema({
        "messages": define_table({"text": v.string(), "channelId": v.id("channels")})
            .index("by_channel", ["channelId"]),
    })

Tables that are not in the schema are not validated (as in Convex). Search and
vector indexes are declared here and implemented by a later layer. Definitions
are checked when constructed, with Convex's error texts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyconvex.knobs as knobs
from pyconvex.database.catalog import BY_CREATION_TIME, BY_ID
from pyconvex.errors import SchemaError
from pyconvex.values.limits import is_valid_identifier
from pyconvex.values.validators import ObjectValidator, UnionValidator, Validator, v

__all__ = [
    "IndexDefinition",
    "Schema",
    "SearchIndexDefinition",
    "TableDefinition",
    "VectorIndexDefinition",
    "define_schema",
    "define_table",
    "document_validator",
]

#: Most indexes per table (Convex's documented limit).
MAX_INDEXES_PER_TABLE = 32


@dataclass(frozen=True, slots=True)
class IndexDefinition:
    """A database index: its name and declared fields."""

    name: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SearchIndexDefinition:
    """A full-text search index declaration."""

    name: str
    search_field: str
    filter_fields: tuple[str, ...] = ()
    staged: bool = False


@dataclass(frozen=True, slots=True)
class VectorIndexDefinition:
    """A vector index declaration."""

    name: str
    vector_field: str
    dimensions: int
    filter_fields: tuple[str, ...] = ()
    staged: bool = False


@dataclass(frozen=True)
class TableDefinition:
    """A table in a schema: its document validator and indexes.

    Build it with :func:`define_table`; add indexes with the chainable
    :meth:`index`, :meth:`search_index` and :meth:`vector_index`.
    """

    validator: Validator
    indexes: tuple[IndexDefinition, ...] = ()
    search_indexes: tuple[SearchIndexDefinition, ...] = ()
    vector_indexes: tuple[VectorIndexDefinition, ...] = ()
    staged_indexes: tuple[IndexDefinition, ...] = field(default=())

    def index(self, name: str, fields: Sequence[str]) -> TableDefinition:
        """Return this table with a database index on ``fields`` (in order)."""
        fields = tuple(fields)
        _check_index(name, fields)
        return TableDefinition(
            self.validator,
            (*self.indexes, IndexDefinition(name, fields)),
            self.search_indexes,
            self.vector_indexes,
        )

    def search_index(
        self,
        name: str,
        *,
        search_field: str,
        filter_fields: Sequence[str] = (),
        staged: bool = False,
    ) -> TableDefinition:
        """Return this table with a full-text search index declared."""
        _check_index_name(name)
        definition = SearchIndexDefinition(name, search_field, tuple(filter_fields), staged)
        return TableDefinition(
            self.validator,
            self.indexes,
            (*self.search_indexes, definition),
            self.vector_indexes,
        )

    def vector_index(
        self,
        name: str,
        *,
        vector_field: str,
        dimensions: int,
        filter_fields: Sequence[str] = (),
        staged: bool = False,
    ) -> TableDefinition:
        """Return this table with a vector index declared."""
        _check_index_name(name)
        definition = VectorIndexDefinition(
            name, vector_field, dimensions, tuple(filter_fields), staged
        )
        return TableDefinition(
            self.validator,
            self.indexes,
            self.search_indexes,
            (*self.vector_indexes, definition),
        )


def define_table(document: Mapping[str, Validator] | Validator) -> TableDefinition:
    """Define a table whose documents match ``document``.

    Args:
        document: a dict of field validators (as ``v.object``), or any
            validator for the whole document (for example a union of objects).
    """
    validator = document if isinstance(document, Validator) else v.object(dict(document))
    return TableDefinition(validator)


@dataclass(frozen=True)
class Schema:
    """A whole schema: tables by name, and whether documents are validated at runtime."""

    tables: Mapping[str, TableDefinition]
    schema_validation: bool = True
    strict_table_name_types: bool = True

    def validator_for(self, table: str) -> Validator | None:
        """The validator that writes to ``table`` must pass, if any."""
        if not self.schema_validation:
            return None
        definition = self.tables.get(table)
        return definition.validator if definition else None

    def doc(self, table: str) -> ObjectValidator:
        """``table``'s document validator as read: its fields, ``_id`` and ``_creationTime``.

        For ``returns=`` validators (convex-helpers' ``doc(schema, "table")``)::

            @query(args={"id": v.id("messages")}, returns=v.union(schema.doc("messages"), v.null()))

        Raises:
            SchemaError: the table is not in the schema, or its documents are not one
                object shape (use :func:`document_validator` for a union).
        """
        definition = self.tables.get(table)
        if definition is None:
            raise SchemaError(f'Table "{table}" is not in the schema.')
        validator = document_validator(table, definition.validator)
        if not isinstance(validator, ObjectValidator):
            raise SchemaError(
                f'The documents of table "{table}" are not one object shape; '
                "use document_validator() for its validator."
            )
        return validator

    def to_json(self) -> dict[str, Any]:
        """The schema in Convex's JSON form (for the dashboard and codegen)."""
        return {
            "schemaValidation": self.schema_validation,
            "tables": [
                {
                    "tableName": name,
                    "documentType": table.validator.to_json(),
                    "indexes": [
                        {"indexDescriptor": i.name, "fields": list(i.fields)} for i in table.indexes
                    ],
                    "searchIndexes": [
                        {
                            "indexDescriptor": s.name,
                            "searchField": s.search_field,
                            "filterFields": list(s.filter_fields),
                        }
                        for s in table.search_indexes
                    ],
                    "vectorIndexes": [
                        {
                            "indexDescriptor": x.name,
                            "vectorField": x.vector_field,
                            "dimensions": x.dimensions,
                            "filterFields": list(x.filter_fields),
                        }
                        for x in table.vector_indexes
                    ],
                }
                for name, table in self.tables.items()
            ],
        }


def document_validator(table: str, validator: Validator) -> Validator:
    """``validator`` (a table's) as documents are read: each object gains ``_id`` and
    ``_creationTime``; a union of objects gains them in every member; anything else is any.
    """
    if isinstance(validator, ObjectValidator):
        return validator.extend({"_id": v.id(table), "_creationTime": v.number()})
    if isinstance(validator, UnionValidator):
        return v.union(*(document_validator(table, member) for member in validator.members))
    return v.any()


def define_schema(
    tables: Mapping[str, TableDefinition],
    *,
    schema_validation: bool = True,
    strict_table_name_types: bool = True,
) -> Schema:
    """Define the schema of a deployment.

    Raises:
        SchemaError: a table or index definition is invalid.
    """
    for name, table in tables.items():
        if not is_valid_identifier(name) or name.startswith("_"):
            raise SchemaError(
                f'Invalid table name: "{name}". Identifiers must start with a letter and can '
                "only contain letters, digits, and underscores."
            )
        if not isinstance(table, TableDefinition):
            raise SchemaError(f'Table "{name}" must be defined with define_table(...).')
        _check_table_indexes(name, table)
    return Schema(dict(tables), schema_validation, strict_table_name_types)


def _check_index_name(name: str) -> None:
    if name in (BY_ID, BY_CREATION_TIME) or name.startswith("_"):
        raise SchemaError(
            f'cannot name an index "{name}" because the name is reserved. Indexes may not '
            'start with an underscore or be named "by_id" or "by_creation_time".'
        )
    if not is_valid_identifier(name):
        raise SchemaError(
            f'Invalid index name: "{name}". Identifiers must be 64 characters or less, '
            "start with a letter, and only contain letters, digits, underscores."
        )


def _check_index(name: str, fields: tuple[str, ...]) -> None:
    _check_index_name(name)
    if not fields:
        raise SchemaError(f'Index "{name}" must have at least one field.')
    seen: set[str] = set()
    for path in fields:
        if path == "_id":
            raise SchemaError(
                "`_id` is not a valid index field. To load documents by ID, use `db.get(id)`."
            )
        if path == "_creationTime":
            raise SchemaError(
                "`_creationTime` is automatically added to the end of each index. It should "
                "not be added explicitly in the index definition. See "
                "https://docs.convex.dev/using/indexes for more details."
            )
        if path.startswith("_"):
            raise SchemaError("Reserved fields (starting with `_`) are not allowed in indexes.")
        if not path or any(not part for part in path.split(".")):
            raise SchemaError(f'In index "{name}": Invalid index field: "{path}"')
        if path in seen:
            raise SchemaError(
                f"Duplicate field {path}. Index fields must be unique within an index."
            )
        seen.add(path)
    if len(fields) + 1 > knobs.INDEX_MAX_FIELDS:
        raise SchemaError(f"Indexes may have up to {knobs.INDEX_MAX_FIELDS} fields.")


def _check_table_indexes(table_name: str, table: TableDefinition) -> None:
    names: set[str] = set()
    by_fields: dict[tuple[str, ...], str] = {}
    all_names = [i.name for i in table.indexes]
    all_names += [s.name for s in table.search_indexes]
    all_names += [x.name for x in table.vector_indexes]
    for name in all_names:
        if name in names:
            raise SchemaError(
                f'Table "{table_name}" has two or more definitions of index "{name}".'
            )
        names.add(name)
    for index in table.indexes:
        if index.fields in by_fields:
            raise SchemaError(
                f'In table "{table_name}" index "{index.name}" and index '
                f'"{by_fields[index.fields]}" have the same fields. Indexes must be unique '
                "within a table."
            )
        by_fields[index.fields] = index.name
    if len(table.indexes) > MAX_INDEXES_PER_TABLE:
        raise SchemaError(
            f'Table "{table_name}" has too many indexes ({len(table.indexes)}); '
            f"the limit is {MAX_INDEXES_PER_TABLE}."
        )
