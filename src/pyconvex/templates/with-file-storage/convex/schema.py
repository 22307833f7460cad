"""Files: each saved file points at its bytes in file storage (the _storage table)."""

from pyconvex import define_schema, define_table, v

schema = define_schema(
    {
        "files": define_table(
            {
                "storageId": v.id("_storage"),
                "name": v.string(),
                "type": v.string(),
                "uploadedAt": v.number(),
            }
        ).index("by_storage_id", ["storageId"]),
    }
)
