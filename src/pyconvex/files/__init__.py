"""File bytes behind one narrow interface: the local directory store (S3 comes later)."""
