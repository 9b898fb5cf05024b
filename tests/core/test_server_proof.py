"""The job's side of the server check: jobspawner-singleuser keeps this start's key out of its
environment and answers the hub's challenge with the proof of it
(jobspawner.jobside.server_proof)."""

from __future__ import annotations

import json

import pytest
from jobspawner.contract.jobspec import SECRETS_FILE_ENV
from jobspawner.jobside import server_proof, singleuser
from jobspawner.lifecycle import server_check
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application


def test_singleuser_keeps_the_key_out_of_the_environment(tmp_path):
    key = server_proof.new_key()
    path = tmp_path / "s"
    path.write_text(json.dumps({"JUPYTERHUB_API_TOKEN": "tok-3", server_proof.KEY_NAME: key}))
    path.chmod(0o600)
    environ = {SECRETS_FILE_ENV: str(path)}
    assert singleuser.load_secrets(environ) == key
    assert environ == {"JUPYTERHUB_API_TOKEN": "tok-3"}  # kernels inherit no key
    assert not path.exists()


def test_a_proof_is_bound_to_key_and_challenge():
    key, challenge = server_proof.new_key(), server_proof.new_challenge()
    answer = server_proof.proof(key, challenge)
    assert server_proof.verify(key, challenge, answer)
    assert not server_proof.verify(server_proof.new_key(), challenge, answer)
    assert not server_proof.verify(key, server_proof.new_challenge(), answer)
    assert not server_proof.verify(key, challenge, None)
    assert key not in answer
    for bad in ("", "0" * 31, "G" * 32, "0" * 32 + "\n"):
        with pytest.raises(ValueError):
            server_proof.proof(key, bad)


async def _serve(handler) -> tuple[HTTPServer, str]:
    path = "/user/alice/" + server_proof.PROOF_PATH
    server = HTTPServer(Application([(path, handler)]))
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    return server, f"http://127.0.0.1:{sockets[0].getsockname()[1]}/user/alice/api"


async def test_singleuser_answers_the_hubs_probe():
    key = server_proof.new_key()
    server, api = await _serve(singleuser.proof_handler(key, "2.14.0"))
    try:
        result = await server_check.probe(api, 2, key=key)
        assert result.ok, result.detail
        assert "version 2.14.0" in result.detail
        assert not (await server_check.probe(api, 2, key=server_proof.new_key())).ok
    finally:
        server.stop()


async def test_singleuser_without_a_key_or_challenge_proves_nothing():
    from tornado.httpclient import AsyncHTTPClient

    server, api = await _serve(singleuser.proof_handler("", "2.14.0"))
    try:
        result = await server_check.probe(api, 2, key=server_proof.new_key())
        assert not result.ok and "HTTP 400" in result.detail
    finally:
        server.stop()
    server, api = await _serve(singleuser.proof_handler(server_proof.new_key(), "2.14.0"))
    try:
        response = await AsyncHTTPClient().fetch(
            f"{api}/jobspawner/proof?challenge=not-hex", raise_error=False
        )
        assert response.code == 400
    finally:
        server.stop()


def test_check_warns_when_the_proof_is_not_required(tmp_path):
    from jobspawner.cli.check import CheckReport, check_settings

    from .test_spawner_unit import make_spawner

    findings = {}
    for required in (True, False):
        report = CheckReport()
        check_settings(report, make_spawner(tmp_path, require_server_proof=required))
        findings[required] = [f for f in report.findings if "server_proof" in f.topic]
    assert findings[True] == []
    (warning,) = findings[False]
    assert warning.level == "warn" and "jobspawner-singleuser" in warning.fix
