"""The sync protocol of the official Convex clients, sans I/O (protocol.md section 3)."""
