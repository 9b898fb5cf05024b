#!/usr/bin/env bash
# Install what the REST-gateway backends' tests need: Debian's slurmrestd (22.05, serving
# openapi v0.0.36-38) and the auth/jwt plugin slurmctld needs for `scontrol token` (with it
# installed, tests/slurm/cluster.py turns JWT on). The daemon is NOT started here:
# tests/slurmrestd/restd.py starts slurmrestd on a free loopback port as user
# `slurm` (slurmrestd refuses root). Run as root after `apt-get update`; idempotent.
set -euo pipefail
if [ ! -x /usr/sbin/slurmrestd ] || ! ls /usr/lib/*/slurm-wlm/auth_jwt.so >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 \
    --no-install-recommends slurmrestd slurm-wlm-jwt-plugin >/dev/null
fi
