"""Notes, each remembering who wrote it (or nobody, when written signed out)."""

from pyconvex import define_schema, define_table, v

schema = define_schema(
    {
        "notes": define_table(
            {
                "text": v.string(),
                # The author's identity.token_identifier; absent for anonymous notes.
                "author": v.optional(v.string()),
            }
        ).index("by_author", ["author"]),
    }
)
