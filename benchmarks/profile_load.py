"""Profile the hub's CPU inside one status-load window (cProfile on process time).

Run with the bench environment's python (``.venv/bin/hatch run bench:python``):
    benchmarks/profile_load.py KIND RUNNING QUEUED [SCALE] [WINDOW]
e.g. ``... jobspawner 1000 0 2 30``. Prints the functions by their own and cumulative CPU
time. The profiler's overhead inflates every figure: read the shares, not the seconds.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import status_load
from status_load import FAKE_DIR, Phase


async def _main(kind: str, phase: Phase, out: Path) -> status_load.LoadResult:
    profiler = cProfile.Profile(time.process_time)

    def window(opening: bool) -> None:
        if opening:
            profiler.enable()
        else:
            profiler.disable()

    idle = await status_load.idle_cpu_per_s(timers=phase.running + phase.queued)
    saved = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{FAKE_DIR}:{saved}"
    try:
        tmp = Path(tempfile.mkdtemp(prefix="jobspawner-profile-"))
        status_load.use_compiled_squeue(tmp)
        result = await status_load.measure(kind, phase, idle, tmp, window)
    finally:
        os.environ["PATH"] = saved
    profiler.dump_stats(out)
    return result


def main(argv: list[str]) -> int:
    kind, running, queued = argv[0], int(argv[1]), int(argv[2])
    scale = float(argv[3]) if len(argv) > 3 else 1.0
    window = float(argv[4]) if len(argv) > 4 else 30.0
    out = Path(tempfile.gettempdir()) / f"profile-{kind}-{running}r-{queued}q.pstats"
    result = asyncio.run(_main(kind, Phase(running, queued, scale, window), out))
    print(result)
    stats = pstats.Stats(str(out))
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)
    print(f"profile written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
