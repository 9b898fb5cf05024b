"""pytest fixtures of the LSF tests (the helpers live in lsfkit.py)."""

from lsf.lsfkit import emulator

__all__ = ["emulator"]
