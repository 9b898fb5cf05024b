"""A REST backend (no commands at all), to prove such a backend fits the hook contract."""
