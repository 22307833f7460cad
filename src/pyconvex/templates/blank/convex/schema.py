"""The app's tables. Documents are checked against these validators on every write."""

from pyconvex import define_schema, define_table, v

schema = define_schema(
    {
        "tasks": define_table({"text": v.string(), "isCompleted": v.boolean()}),
    }
)
