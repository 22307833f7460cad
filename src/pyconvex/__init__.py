"""pyconvex: Convex's reactive backend model, in Python."""

__version__ = "0.1.0"
