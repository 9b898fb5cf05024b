"""pytest fixtures of the HTCondor tests (the helpers live in condorkit.py)."""

from condor.condorkit import pool

__all__ = ["pool"]
