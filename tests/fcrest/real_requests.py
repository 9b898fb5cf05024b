"""Every request the FirecREST backend and the emulator make, plus the error cases of
issue #21, as one fixed sequence: recorded against the real FirecREST v2 server by
``record_real.py`` and replayed against the emulator by ``test_fixtures.py``.

The sequence runs as alice on the test Slurm in a folder of hers it makes afresh
(:data:`FOLDER`); a few steps look at the machine as root between requests (the mode an
upload gets, whether it followed a link, what a job saw) and keep that as ``observed``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

SYSTEM = "cluster"
FOLDER = "/home/alice/.jobspawner-fcrest-record"
UNKNOWN_JOB = "999999"
#: the job's script: ``--export=NONE`` is what the Slurm template writes; the job prints
#: whether the SSH session's environment reached it anyway
SCRIPT = (
    "#!/bin/bash\n#SBATCH --export=NONE\n#SBATCH --time=00:10:00\n"
    f"#SBATCH --output={FOLDER}/job.out\n"
    'echo "ssh_env=${SSH_CONNECTION:+yes}"\nsleep 300\n'
)


@dataclass
class Exchange:
    """One request and what the server answered (and what the machine showed after it)."""

    name: str
    request: dict[str, Any]
    status: int
    headers: dict[str, str]
    body: Any
    observed: dict[str, Any] = field(default_factory=dict)


def _sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()


def _as_alice(*argv: str) -> None:
    subprocess.run(["runuser", "-u", "alice", "--", *argv], check=True, timeout=30)


async def _until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the test Slurm did not reach the expected state")
        await asyncio.sleep(0.3)


Mint = Callable[[str, int | None], str]


async def play(url: str, mint: Mint, out: list[Exchange]) -> list[Exchange]:
    """Run the whole sequence against the server at ``url``, appending to ``out`` (what was
    asked before a failure stays there); ``mint(user, lifespan)`` makes an access token
    the server accepts."""
    shutil.rmtree(FOLDER, ignore_errors=True)
    token = mint("alice", None)
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def ask(
            name: str,
            method: str,
            path: str,
            params: dict[str, Any] | None = None,
            json: Any = None,
            upload: tuple[str, bytes] | None = None,
            auth: str | None = "alice",
        ) -> Exchange:
            headers = {}
            if auth == "alice":
                headers["Authorization"] = f"Bearer {token}"
            elif auth is not None:
                headers["Authorization"] = f"Bearer {auth}"
            files = {"file": upload} if upload else None
            r = await http.request(
                method, path, params=params, json=json, files=files, headers=headers
            )
            try:
                body: Any = r.json()
            except ValueError:
                body = r.text
            request: dict[str, Any] = {"method": method, "path": path}
            if params:
                request["params"] = params
            if json is not None:
                request["json"] = json
            if upload:
                request["upload"] = {"filename": upload[0], "bytes": len(upload[1])}
            request["auth"] = "alice's token" if auth == "alice" else auth
            keep = {k: v for k, v in r.headers.items() if k.lower() in ("f7t-appversion",)}
            ex = Exchange(name, request, r.status_code, keep, body)
            out.append(ex)
            return ex

        sys_ = f"/status/{SYSTEM}"
        ops = f"/filesystem/{SYSTEM}/ops"
        jobs = f"/compute/{SYSTEM}/jobs"
        secrets = f"{FOLDER}/secrets"

        await ask("no-token", "GET", "/status/systems", auth=None)
        await ask("bad-token", "GET", "/status/systems", auth="garbage")
        await ask("token-expires-soon", "GET", "/status/systems", auth=mint("alice", 10))
        await ask("systems", "GET", "/status/systems")
        await ask("userinfo", "GET", f"{sys_}/userinfo")
        await ask("unknown-system", "GET", "/status/nosuch/userinfo")
        await ask("partitions", "GET", f"{sys_}/partitions")
        await ask("nodes", "GET", f"{sys_}/nodes")
        await ask("mkdir", "POST", f"{ops}/mkdir", json={"sourcePath": FOLDER, "parent": True})
        await ask("mkdir-denied", "POST", f"{ops}/mkdir", json={"sourcePath": "/root/fc-x"})
        await ask("chmod-folder", "PUT", f"{ops}/chmod", json={"path": FOLDER, "mode": "700"})
        await ask("chmod-not-owner", "PUT", f"{ops}/chmod", json={"path": "/tmp", "mode": "700"})
        await ask("stat-missing", "GET", f"{ops}/stat", params={"path": secrets})
        ex = await ask(
            "upload", "POST", f"{ops}/upload", params={"path": FOLDER},
            upload=("secrets", b'{"token": "first"}'),
        )  # fmt: skip
        ex.observed["mode"] = _sh("stat", "-c", "%a", secrets)
        ex = await ask(
            "upload-existing", "POST", f"{ops}/upload", params={"path": FOLDER},
            upload=("secrets", b'{"token": "second"}'),
        )  # fmt: skip
        ex.observed["replaced"] = "second" in _sh("cat", secrets)
        _as_alice("ln", "-s", f"{FOLDER}/target", f"{FOLDER}/link")
        ex = await ask(
            "upload-through-link", "POST", f"{ops}/upload", params={"path": FOLDER},
            upload=("link", b"through"),
        )  # fmt: skip
        ex.observed["followed"] = os.path.exists(f"{FOLDER}/target")
        await ask("chmod-file", "PUT", f"{ops}/chmod", json={"path": secrets, "mode": "600"})
        await ask("stat-file", "GET", f"{ops}/stat", params={"path": secrets})
        await ask(
            "tail", "GET", f"{ops}/tail",
            params={"path": secrets, "skipHeading": False, "bytes": 65536},
        )  # fmt: skip
        await ask(
            "tail-missing", "GET", f"{ops}/tail",
            params={"path": f"{FOLDER}/nothing", "skipHeading": False, "bytes": 65536},
        )  # fmt: skip
        await ask("tail-denied", "GET", f"{ops}/tail", params={"path": "/etc/shadow"})

        ex = await ask(
            "submit", "POST", jobs, json={"job": {"workingDirectory": FOLDER, "script": SCRIPT}}
        )
        job = str(ex.body.get("jobId")) if isinstance(ex.body, dict) else ""
        await _until(lambda: "ssh_env=" in _sh("cat", f"{FOLDER}/job.out"))
        ex.observed["job_output"] = _sh("cat", f"{FOLDER}/job.out")
        await ask("job-running", "GET", f"{jobs}/{job}")
        await ask("jobs", "GET", jobs)
        await ask("jobs-allusers", "GET", jobs, params={"allusers": True})
        await ask("cancel", "DELETE", f"{jobs}/{job}")
        await _until(lambda: _sh("squeue", "-h", "-j", job, "-o", "%i") == "")
        await ask("job-ended", "GET", f"{jobs}/{job}")
        await ask("jobs-after-end", "GET", jobs)
        await ask("cancel-ended", "DELETE", f"{jobs}/{job}")
        await ask("cancel-unknown", "DELETE", f"{jobs}/{UNKNOWN_JOB}")
        await ask("job-unknown", "GET", f"{jobs}/{UNKNOWN_JOB}")
        await ask("job-bad-id", "GET", f"{jobs}/abc")
        await ask(
            "submit-refused", "POST", jobs,
            json={"job": {"workingDirectory": FOLDER, "script": "#!/bin/bash\ntrue\n",
                          "partition": "nosuch"}},
        )  # fmt: skip
        await ask("submit-no-workdir", "POST", jobs, json={"job": {"script": "#!/bin/bash\n"}})
        await ask("rm", "DELETE", f"{ops}/rm", params={"path": secrets})
        await ask("rm-missing", "DELETE", f"{ops}/rm", params={"path": secrets})
        await ask("rm-denied", "DELETE", f"{ops}/rm", params={"path": "/etc/hostname"})
    shutil.rmtree(FOLDER, ignore_errors=True)
    return out


def job_id_of(exchanges: list[Exchange]) -> str:
    """The id the ``submit`` step got (to read the others' answers independent of it)."""
    for ex in exchanges:
        if ex.name == "submit" and isinstance(ex.body, dict):
            return str(ex.body.get("jobId"))
    return ""
