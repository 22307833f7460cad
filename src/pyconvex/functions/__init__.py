"""User functions: decorators, registry, loader, contexts and the executor."""
