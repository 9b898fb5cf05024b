"""Fixtures of the SSH transport tests: a real sshd (remote/sshd.py), fresh connections."""

from remote.fixtures import fresh_ssh_connections, netns_sshd, sshd

__all__ = ["fresh_ssh_connections", "netns_sshd", "sshd"]
