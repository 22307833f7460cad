"""Durable multi-version storage behind one narrow interface."""
