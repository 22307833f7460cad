"""The document database: catalog, transactions, OCC, the committer, queries and schemas."""
