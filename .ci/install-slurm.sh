#!/usr/bin/env bash
# Install what the Slurm backend's tests need: a real Slurm 22.05 (slurm-wlm) and munge
# from Debian's packages, with accounting (slurmdbd on MariaDB). The daemons are NOT
# started here: tests/slurm/cluster.py writes its own slurm.conf and slurmdbd.conf and
# starts munged, MariaDB, slurmdbd, slurmctld and slurmd for the test session (and a
# second cluster's slurmctld and slurmd), then stops them. Run as root after
# `apt-get update` (.ci/run does both).
set -euo pipefail

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null \
   || ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null; then
  # policy-rc.d / no systemd: the postinst scripts do not start any daemon.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    slurm-wlm slurm-client slurmdbd munge mariadb-server mariadb-client
fi

# Debian's munge postinst creates a key; make sure one exists with the right owner.
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key

# The node is named after `hostname -s`; slurmd must be able to resolve it. The harness
# uses NodeAddr=127.0.0.1, but slurmd still looks its own name up at start.
short=$(hostname -s)
if ! getent hosts "$short" >/dev/null; then
  echo "127.0.0.1 $short" >> /etc/hosts
fi

slurmctld -V
