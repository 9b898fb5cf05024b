"""Shared test harness: strict skips, test users, the job environment, a real JupyterHub."""
