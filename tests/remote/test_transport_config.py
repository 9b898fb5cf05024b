"""The transport's settings are checked at the hub's start, with messages naming them."""

from __future__ import annotations

from pathlib import Path

from jobspawner.spawner import JobSpawner
from traitlets.config import Config


def spawner(tmp_path: Path, **settings: object) -> JobSpawner:
    config = Config()
    for name, value in settings.items():
        setattr(config.JobSpawner, name, value)
    return JobSpawner(config=config)


def test_the_local_transport_needs_nothing(tmp_path: Path) -> None:
    assert spawner(tmp_path).transport_config_error() is None


def test_ssh_needs_hosts_known_hosts_and_a_key(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    s = spawner(tmp_path, transport="ssh")
    assert "ssh_hosts" in (s.transport_config_error() or "")
    s = spawner(tmp_path, transport="ssh", ssh_hosts=["login1"])
    assert "ssh_known_hosts" in (s.transport_config_error() or "")
    s = spawner(tmp_path, transport="ssh", ssh_hosts=["login1"], ssh_known_hosts="/nonexistent")
    assert "/nonexistent is not a file" in (s.transport_config_error() or "")
    s = spawner(tmp_path, transport="ssh", ssh_hosts=["login1"], ssh_known_hosts=str(known))
    assert "ssh_key_file" in (s.transport_config_error() or "")
    s = spawner(
        tmp_path, transport="ssh", ssh_hosts=["a b"], ssh_known_hosts=str(known), ssh_key_file="k"
    )
    assert "not a host name" in (s.transport_config_error() or "")
    s = spawner(
        tmp_path, transport="ssh", ssh_hosts=["login1"], ssh_known_hosts=str(known),
        ssh_key_file="/etc/jupyterhub/keys/{username}",
    )  # fmt: skip
    assert s.transport_config_error() is None


def test_root_on_the_login_node_needs_an_exec_prefix(tmp_path: Path) -> None:
    s = spawner(tmp_path, transport="ssh", ssh_username="root")
    assert "ssh_username is root" in (s.root_jobs_refusal() or "")
    s = spawner(tmp_path, transport="ssh", ssh_username="root", exec_prefix="sudo -u {username}")
    assert s.root_jobs_refusal() is None
    assert spawner(tmp_path, transport="ssh").root_jobs_refusal() is None
