"""Fixtures of the SSH transport tests: a real sshd (remote/sshd.py), fresh connections."""

from remote.fixtures import fresh_ssh_connections, hub_account_sshd, netns_sshd, sshd

__all__ = ["fresh_ssh_connections", "hub_account_sshd", "netns_sshd", "sshd"]
