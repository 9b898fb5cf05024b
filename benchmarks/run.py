"""Benchmarks, each a ratio against an anchor measured in the same run (no absolute times).

poll_round: answering status for N spawners that poll one after the other (JupyterHub polls
each spawner on its own jittered timer). Anchor: one status command per spawner poll (what a
per-spawner poll does, the load pattern Slurm's manual warns against). Measured: the shared
poller with JobSpawner's default status_max_age, the same N staggered polls. Target: at most
15% of the anchor's time, and one scheduler command for the whole round.

Run: ./run bench   (exit status 1 when a target is missed)
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time

from jobspawner.backend import load_backend
from jobspawner.context import make_context
from jobspawner.jobspec import JobSpec
from jobspawner.poller import StatusPoller

N_SPAWNERS = 40
REAL_JOBS = 4
REPEATS = 3
TARGET_RATIO = 0.15
MAX_AGE = 10.0  # JobSpawner.status_max_age's default


async def poll_round() -> dict[str, float]:
    backend = load_backend("local")
    spool = tempfile.mkdtemp(prefix="jobspawner-bench-")
    ctx = make_context(backend, options={"python": sys.executable, "spool": spool})
    ids = []
    for i in range(REAL_JOBS):
        spec = JobSpec.create(
            username="bench",
            job_name=f"bench{i}",
            output_file=f"{spool}/{i}.log",
            workdir=spool,
            command=["sleep", "120"],
            options=ctx.options,
        )
        ids.append(
            await backend.submit(
                ctx, spec, backend.render_script(spec, backend.script_template(spec))
            )
        )
    ids += [f"{999000 + i}-1" for i in range(N_SPAWNERS - REAL_JOBS)]  # forgotten jobs
    try:
        anchor = measured = float("inf")
        queries = 0
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            for job_id in ids:  # anchor: one query per spawner
                await backend.query_status(ctx, [job_id])
            anchor = min(anchor, time.perf_counter() - t0)

            async def query(batch):
                return await backend.query_status(ctx, batch)

            poller = StatusPoller(query)
            for job_id in ids:  # as spawners do when they submit or load their state
                poller.watch(job_id)
            t0 = time.perf_counter()
            results = []
            for job_id in ids:  # staggered: each spawner polls on its own
                results.append(await poller.status(job_id, max_age=MAX_AGE))
            measured = min(measured, time.perf_counter() - t0)
            queries = poller.queries
            assert sum(r.state.value == "running" for r in results) == REAL_JOBS
    finally:
        await backend.cancel(ctx, ids[:REAL_JOBS])
    return {"anchor_s": anchor, "measured_s": measured, "ratio": measured / anchor,
            "queries": queries, "spawners": N_SPAWNERS}  # fmt: skip


def main() -> int:
    result = asyncio.run(poll_round())
    ok = result["ratio"] <= TARGET_RATIO and result["queries"] == 1
    print(json.dumps({"poll_round": result, "target_ratio": TARGET_RATIO, "ok": ok}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
