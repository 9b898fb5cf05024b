#!/bin/sh
# The PBS-family tests (torque, pbspro, moab) run on the CLI emulator in tests/torque/emulator:
# nothing of Torque/PBS Pro/Moab is installed. The emulator's executables need Debian's
# /usr/bin/python3 (standard library only) and runuser (util-linux) to run jobs as the users.
set -eu
if [ ! -x /usr/bin/python3 ] || ! command -v runuser >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 util-linux
fi
