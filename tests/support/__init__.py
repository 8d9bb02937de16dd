"""Shared test helpers (each in its own module)."""
