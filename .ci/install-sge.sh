#!/usr/bin/env bash
# install-sge.sh - what the Grid Engine backend's tests need on a fresh Debian machine.
#
# Installs Son of Grid Engine 8.1.9 from Debian (gridengine-master, -exec, -client) without
# questions: debconf is preseeded so that gridengine-master's postinst creates the cell
# "default" (SGE_ROOT=/var/lib/gridengine) with this host as master. No daemon is started
# here: the test harness (tests/sge/cluster.py) starts and configures sge_qmaster and
# sge_execd itself and stops them afterwards. `.ci/run` runs `apt-get update` before this.
set -euo pipefail

if command -v sge_qmaster >/dev/null 2>&1 && command -v qsub >/dev/null 2>&1; then
  echo "install-sge: Grid Engine already installed"
  exit 0
fi

HOST=$(hostname)
for p in gridengine-common gridengine-master gridengine-exec gridengine-client; do
  printf '%s shared/gridenginemaster string %s\n' "$p" "$HOST"
  printf '%s shared/gridenginecell string default\n' "$p"
  printf '%s shared/gridengineconfig boolean true\n' "$p"
done | debconf-set-selections

DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
  gridengine-master gridengine-exec gridengine-client

# The tests submit jobs as these users (also created by .ci/run; harmless if present).
for u in alice bob; do id "$u" >/dev/null 2>&1 || useradd -m "$u"; done
echo "install-sge: installed $(dpkg-query -W -f='${Version}' gridengine-master 2>/dev/null)"
