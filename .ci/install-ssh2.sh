#!/bin/sh
# The SSH transport's namespace and sudo tests (tests/remote/test_forward_netns.py,
# tests/remote/test_sudo_identity.py): `ip` (iproute2) builds a network namespace for a login
# node the hub cannot reach past sshd, and `sudo` runs each command as the user behind one
# hub account. The tests write their own sudoers drop-in and remove it afterwards; nothing
# here configures sudo.
set -eu
missing=
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v sudo >/dev/null 2>&1 || missing="$missing sudo"
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -o DPkg::Lock::Timeout=600 -y -qq \
        --no-install-recommends $missing >/dev/null 2>&1 || { echo "apt-get install$missing failed" >&2; exit 1; }
fi
command -v ip >/dev/null
command -v sudo >/dev/null
command -v visudo >/dev/null
