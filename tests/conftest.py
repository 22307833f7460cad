"""Fixtures shared across test folders."""

# The moto S3 server (s3_server, s3_bucket): file-store, server and client tests use it.
pytest_plugins = ["tests.files.moto_server"]
