#!/bin/sh
# The server-watch tests (tests/core/test_e2e_server_watch.py) make a running server's host
# "lost" by dropping its packets with iptables (a rule on the loopback interface, removed
# after the test). Debian's iptables package; either the nft or the legacy variant works.
set -eu
if command -v iptables >/dev/null 2>&1; then
    exit 0
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
    --no-install-recommends iptables >/dev/null
