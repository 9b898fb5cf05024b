"""Backends shipped inside the core distribution (registered through entry points like any)."""
