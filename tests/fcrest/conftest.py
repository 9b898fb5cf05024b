"""Fixtures for the FirecREST backend: the emulator (+ token endpoint) on the real test Slurm."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.firecrest_emulator import Emulator
from harness.firecrest_real import RealFirecrest, source_from_env
from jobspawner_firecrest import hooks as fc_hooks
from jobspawner_firecrest import tokens as fc_tokens
from remote.sshd import SSHServer
from slurm import cluster as slurm_cluster_module
from slurm import conftest as slurm_conftest
from slurm.conftest import clean_queue

__all__ = ["clean_queue", "slurm_cluster"]

#: set to a running Slurm's slurm.conf (with ``SLURM_CONF`` naming it too) to run these tests
#: on that cluster rather than start the shared test cluster, e.g. the recorder's own
#: (``record_real.py``): for a developer whose machine runs other test clusters
OWN_SLURM = "JOBSPAWNER_FCREST_SLURM_CONF"


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[slurm_cluster_module.Cluster]:
    """The shared test Slurm (tests/slurm/conftest.py's), or the one :data:`OWN_SLURM` names."""
    conf = os.environ.get(OWN_SLURM)
    if conf:
        os.environ["SLURM_CONF"] = conf
        yield slurm_cluster_module.Cluster(
            host=slurm_cluster_module.hostname(), harness=Path(conf).parent
        )
        return
    yield from slurm_conftest.slurm_cluster.__wrapped__()


HUB_CLIENT = ("jupyterhub", "hub-client-secret")
SERVICE_CLIENT = ("svc-jupyter", "svc-secret")


#: set (to 1) with JOBSPAWNER_FIRECREST_SOURCE to run these tests against the real FirecREST
#: v2 server (tests/harness/firecrest_real.py) instead of the emulator, on the Slurm that
#: SLURM_CONF names (it must have accounting: record_real.py's PrivateSlurm(True) does).
#: A developer's check, not CI's: tests that count the emulator's requests cannot pass there.
REAL = "JOBSPAWNER_TEST_FIRECREST_REAL"


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = Emulator()
    emu.state.clients[HUB_CLIENT[0]] = (HUB_CLIENT[1], "")
    # the service account maps to a cluster user that may list every user's jobs
    emu.state.clients[SERVICE_CLIENT[0]] = (SERVICE_CLIENT[1], "slurm")
    emu.start()
    real = sshd = None
    configured = source_from_env() if os.environ.get(REAL) else None
    if configured is not None:
        # the real server runs the service account's commands over SSH: as a user with a key
        emu.state.clients[SERVICE_CLIENT[0]] = (SERVICE_CLIENT[1], "alice")
        conf = os.environ.get("SLURM_CONF")
        sshd = SSHServer(extra=f"SetEnv SLURM_CONF={conf}" if conf else "")
        sshd.start()
        keys = {u: sshd.key(u) for u in sshd.users}
        real = RealFirecrest(*configured, emu.state, emu.token_url, sshd.port, keys,
                             tmp_path_factory.mktemp("firecrest-real"))  # fmt: skip
        real.start()
        emu.api_url = real.url
    yield emu
    if real is not None:
        real.stop()
    if sshd is not None:
        sshd.stop()
    emu.stop()


@pytest.fixture
def emulator_only(emulator: Emulator) -> None:
    """For a test that counts the emulator's requests or drives it (down, no accounting,
    its release's version header): skipped when a real server stands in for it (REAL)."""
    if emulator.api_url:
        pytest.skip("reads or drives the emulator itself: not run against a real server")


def gateway_options(emulator: Emulator, **extra: object) -> dict[str, object]:
    """The FirecREST backend options that reach the emulator as the hub's OAuth client."""
    return {
        "url": emulator.url,
        "system": "cluster",
        "token_url": emulator.token_url,
        "client_id": HUB_CLIENT[0],
        "client_secret": HUB_CLIENT[1],
        "request_timeout": 10,
        **extra,
    }


def forget_tokens() -> None:
    """What a hub restart loses: every gateway and token the plugin holds in memory."""
    fc_hooks._gateways.clear()
    fc_tokens._user_tokens.clear()
