"""Files: their metadata, and for small files the bytes themselves."""

from pyconvex import define_schema, define_table, v

schema = define_schema(
    {
        "files": define_table(
            {
                "name": v.string(),
                "contentType": v.string(),
                "size": v.number(),
                # Small files are kept in the document itself (documents hold up to 1 MiB).
                "data": v.optional(v.bytes()),
                # Larger files live elsewhere (a CDN, S3, ...); the app keeps their URL.
                "url": v.optional(v.string()),
                "uploadedAt": v.number(),
            }
        ).index("by_name", ["name"]),
    }
)
