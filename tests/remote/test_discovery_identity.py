"""The live resource view is keyed by the account its discovery ran as.

With per-user SSH accounts (``ssh_username = "{username}"``) each user's form shows what her
own account was told: alice's login environment never decides bob's queues or limits. With
a configured status account (``ssh_status_username``) everyone shares that account's answer.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from harness.strict import need_root
from harness.users import ensure_users
from jobspawner.choices import live_view
from jobspawner.choices.resource_cache import _caches
from jobspawner.spawner import JobSpawner
from jupyterhub.objects import Hub
from remote.sshd import SSHServer


def ssh_spawner(tmp_path: Path, sshd: SSHServer, name: str, **config: Any) -> JobSpawner:
    user = SimpleNamespace(name=name, url=f"/user/{name}/", escaped_name=name, id=1)
    return JobSpawner(
        user=user,
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        backend_options={"python": sys.executable, "spool": str(tmp_path / "spool")},
        plugins=["core.site_plugins.whoami_queues"],
        transport="ssh",
        ssh_hosts=[sshd.address],
        ssh_port=sshd.port,
        ssh_known_hosts=str(sshd.known_hosts),
        ssh_username="{username}",
        ssh_key_file=sshd.key_template(),
        **config,
    )


async def queues_seen(spawner: JobSpawner) -> list[str]:
    snapshot = await live_view.resource_cache(spawner).wait(20)
    assert snapshot.error is None, snapshot.error
    return [q.name for q in snapshot.queues or ()]


async def test_each_ssh_account_sees_its_own_discovery_answer(tmp_path: Path, sshd: SSHServer):
    _caches.clear()
    assert await queues_seen(ssh_spawner(tmp_path, sshd, "alice")) == ["alice-queue"]
    assert await queues_seen(ssh_spawner(tmp_path, sshd, "bob")) == ["bob-queue"]


async def test_a_configured_status_account_answers_for_everyone(tmp_path: Path, sshd: SSHServer):
    _caches.clear()
    service = {"ssh_status_username": "alice", "ssh_status_key_file": sshd.key("alice")}
    alice, bob = (ssh_spawner(tmp_path, sshd, n, **service) for n in ("alice", "bob"))
    assert await queues_seen(alice) == ["alice-queue"]
    assert await queues_seen(bob) == ["alice-queue"]  # the same account: one shared answer
    assert live_view.resource_cache(alice) is live_view.resource_cache(bob)


async def test_each_exec_identity_sees_its_own_discovery_answer(tmp_path: Path) -> None:
    """On the hub host: discovery through a per-user ``status_exec_prefix`` runs as each
    user, and each user's form shows her own answer."""
    need_root()
    ensure_users()
    _caches.clear()
    per_user = {"status_exec_prefix": ["runuser", "-u", "{username}", "--"]}

    def local(name: str) -> JobSpawner:
        user = SimpleNamespace(name=name, url=f"/user/{name}/", escaped_name=name, id=1)
        return JobSpawner(
            user=user,
            hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
            backend_options={"python": sys.executable, "spool": str(tmp_path / "spool")},
            plugins=["core.site_plugins.whoami_queues"],
            **per_user,
        )

    assert await queues_seen(local("alice")) == ["alice-queue"]
    assert await queues_seen(local("bob")) == ["bob-queue"]
