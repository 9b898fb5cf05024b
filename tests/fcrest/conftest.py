"""Fixtures for the FirecREST backend: the emulator (+ token endpoint) on the real test Slurm."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness.firecrest_emulator import Emulator
from jobspawner_firecrest import hooks as fc_hooks
from jobspawner_firecrest import tokens as fc_tokens
from slurm.conftest import clean_queue, slurm_cluster

__all__ = ["clean_queue", "slurm_cluster"]

HUB_CLIENT = ("jupyterhub", "hub-client-secret")
SERVICE_CLIENT = ("svc-jupyter", "svc-secret")


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    emu.state.clients[HUB_CLIENT[0]] = (HUB_CLIENT[1], "")
    # the service account maps to a cluster user that may list every user's jobs
    emu.state.clients[SERVICE_CLIENT[0]] = (SERVICE_CLIENT[1], "slurm")
    emu.start()
    yield emu
    emu.stop()


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
