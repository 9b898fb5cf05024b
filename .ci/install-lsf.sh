#!/bin/sh
# LSF cannot be installed here: the LSF tests use the emulator in tests/lsf/emulator, which
# needs only Debian's /usr/bin/python3 (standard library) and runuser (util-linux, which
# is essential on Debian). Make sure both are there; nothing else to install or start.
set -eu
if [ ! -x /usr/bin/python3 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3
fi
command -v runuser >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y util-linux
# (the tests copy the emulator into their spool in /tmp, so the checkout may be private)
