"""The proof that the server answering on a reported port is this spawn's own server.

A port report names a port; anything may listen there (a service of another user on the
same node, a program the job started instead of its server). So at each start the hub makes
a new random key and hands it to the job only through the secrets file (never the script, a
command line or an environment): ``jobspawner-singleuser`` takes it out of that file and
keeps it in memory, out of the environment its kernels inherit. The hub's check then asks

    GET <prefix>api/jobspawner/proof?challenge=<32 hex digits, new for every probe>

and the server answers ``{"version": ..., "proof": <hex HMAC-SHA256 of the challenge>}``,
keyed with that key. The key never leaves the server: whoever asks learns a MAC of a
challenge the hub will never send again. A custom server command (``c.JobSpawner.cmd``) that
does not run ``jobspawner-singleuser`` must answer the same way (:func:`proof` computes the
answer) or the hub refuses its server; see docs/security.md.

Pure functions, standard library only: the job's server imports this too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

#: The entry of the secrets file that holds the key (hex).
KEY_NAME = "JOBSPAWNER_SERVER_CHECK_KEY"
#: The path under the server's base URL that answers a challenge.
PROOF_PATH = "api/jobspawner/proof"
#: What every MAC covers besides the challenge, so that the key proves nothing else.
_CONTEXT = b"jobspawner server check v1\0"
_CHALLENGE = re.compile(r"[0-9a-f]{32}")
_KEY = re.compile(r"[0-9a-f]{64}")


def new_key() -> str:
    """A new key for one start (256 random bits, hex)."""
    return secrets.token_hex(32)


def new_challenge() -> str:
    """A new challenge for one probe (128 random bits, hex)."""
    return secrets.token_hex(16)


def valid_key(key: str) -> bool:
    """Whether ``key`` has the shape :func:`new_key` gives (64 lower-case hex digits)."""
    return _KEY.fullmatch(key) is not None


def valid_challenge(challenge: str) -> bool:
    """Whether ``challenge`` has the shape :func:`new_challenge` gives."""
    return _CHALLENGE.fullmatch(challenge) is not None


def proof(key: str, challenge: str) -> str:
    """The answer to ``challenge`` with ``key`` (hex HMAC-SHA256); ValueError for a bad
    key or challenge."""
    if not valid_key(key):
        raise ValueError("the server-check key is not 64 hex digits")
    if not valid_challenge(challenge):
        raise ValueError("the challenge is not 32 hex digits")
    mac = hmac.new(bytes.fromhex(key), _CONTEXT + challenge.encode(), hashlib.sha256)
    return mac.hexdigest()


def verify(key: str, challenge: str, answer: object) -> bool:
    """Whether ``answer`` is the proof of ``challenge`` with ``key`` (constant time)."""
    if not isinstance(answer, str):
        return False
    return hmac.compare_digest(answer.encode(), proof(key, challenge).encode())


def proof_url(api_url: str, challenge: str) -> str:
    """The URL of a challenge, from the server's ``.../api`` URL."""
    return f"{api_url.rstrip('/')}/jobspawner/proof?challenge={challenge}"
