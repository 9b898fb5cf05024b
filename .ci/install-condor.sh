#!/bin/sh
# HTCondor's daemons are not packaged for our machines (the PyPI wheel holds only the
# bindings), so the condor tests run against the emulator in tests/condor/emulator. It needs
# only Debian's /usr/bin/python3 (standard library) and runuser (util-linux); the tests copy
# it to /tmp, so a private checkout works too. Nothing else to install or start.
set -eu
if [ ! -x /usr/bin/python3 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3
fi
command -v runuser >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y util-linux
