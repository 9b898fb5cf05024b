"""FirecREST tokens that the identity provider rotates (the emulator's token endpoint pops a
refresh token when it issues the next one): the renewed tokens are saved into the user's
auth state, so a restarted hub goes on; one holder per user for every gateway; a stale auth
state never replaces renewed tokens."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from jobspawner import JobState
from jobspawner.contract.commands import CommandRunner
from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import load_backend
from jobspawner.lifecycle.auth_state_sync import saver
from jobspawner_firecrest import hooks as fc_hooks

from .conftest import forget_tokens, gateway_options

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root]


class HubUser:
    """JupyterHub's User as far as auth state goes (kept as the hub's database would)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = dict(state)

    async def get_auth_state(self) -> dict[str, Any]:
        return dict(self.state)

    async def save_auth_state(self, state: dict[str, Any]) -> None:
        self.state = dict(state)


@pytest.fixture(autouse=True)
def _fresh(emulator):
    forget_tokens()
    lifespan = emulator.state.access_lifespan
    yield
    emulator.state.access_lifespan = lifespan
    forget_tokens()


restart_hub = forget_tokens


def context(emulator, user: HubUser, **extra) -> BackendContext:
    states = {"alice": dict(user.state)}
    return BackendContext(
        backend=load_backend("firecrest"),
        runner=CommandRunner(()),
        query_runner=CommandRunner(()),
        options=gateway_options(emulator, **extra),
        username="alice",
        auth_state=states["alice"],
        auth_states=states,
        save_auth_state=saver({"alice": user}, states, logging.getLogger("test")),
    )


async def answered(ctx) -> bool:
    status = (await ctx.backend.query_status(ctx, ["999999"]))["999999"]
    return status.state is not JobState.UNKNOWN


async def test_rotated_refresh_token_survives_a_hub_restart(emulator, slurm_cluster):
    emulator.state.access_lifespan = 40  # every token needs renewing at its next use
    login = emulator.state.login("alice", lifespan=40)
    alice = HubUser({**login, "oauth_user": {"preferred_username": "alice"}})
    assert await answered(context(emulator, alice))
    # the provider rotated the refresh token: the login's is dead, the auth state has the new
    assert login["refresh_token"] not in emulator.state.refresh_tokens
    assert alice.state["refresh_token"] in emulator.state.refresh_tokens
    assert alice.state["access_token"] != login["access_token"]
    assert alice.state["oauth_user"] == {"preferred_username": "alice"}  # the rest kept
    restart_hub()
    grants = emulator.state.token_grants["refresh_token"]
    assert await answered(context(emulator, alice)), "the restarted hub lost the live token"
    # two requests (the list, then the job missing from it), each renewing the 40 s token
    assert emulator.state.token_grants["refresh_token"] == grants + 2


async def test_gateways_with_different_options_share_one_users_tokens(emulator, slurm_cluster):
    login = emulator.state.login("alice", lifespan=40)
    alice = HubUser(login)
    grants = emulator.state.token_grants["refresh_token"]
    assert await answered(context(emulator, alice))
    # a profile with other backend options is another gateway: the same refresh token holder
    assert await answered(context(emulator, HubUser(login), uenv_view="default"))
    assert emulator.state.token_grants["refresh_token"] == grants + 1


async def test_a_stale_auth_state_never_replaces_renewed_tokens(emulator, slurm_cluster):
    login = emulator.state.login("alice", lifespan=40)
    alice = HubUser(login)
    assert await answered(context(emulator, alice))
    assert await answered(context(emulator, HubUser(alice.state)))  # the saved state, read back
    # a context built from an auth state read before the renewal (the login's, now dead)
    stale = context(emulator, HubUser(login))
    assert await answered(stale)
    # a new login replaces them
    again = emulator.state.login("alice")
    fresh = HubUser(again)
    assert await answered(context(emulator, fresh))
    tokens = fc_hooks.gateway(context(emulator, fresh).options).tokens("alice")
    assert tokens.access_token == again["access_token"]
