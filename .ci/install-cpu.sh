#!/bin/sh
# The status-load benchmark (tests/bench, ./run bench) builds its squeue emulator from
# benchmarks/fake_slurm/squeue.c with cc, so that batchspawner (the anchor) can run the
# hundreds of squeue calls a second it asks for; without cc it falls back to the Python
# emulator (slower per call, the anchor then runs fewer than it asks). Needs gcc and libc6-dev.
set -eu
if command -v cc >/dev/null 2>&1 && [ -e /usr/include/stdio.h ]; then
    exit 0
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
    --no-install-recommends gcc libc6-dev >/dev/null
