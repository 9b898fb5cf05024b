"""A jobspawner backend for toyq, the tutorial's toy scheduler (docs/writing-a-backend.md)."""
