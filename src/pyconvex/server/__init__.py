"""The network server: the HTTP API (and, later, WebSocket sync) over a Backend."""
