"""Convex values in Python: the model, wire encoding, sort order, IDs and validators."""
