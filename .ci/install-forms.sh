#!/usr/bin/env bash
# install-forms.sh - what the spawn-form browser tests need on a fresh Debian machine.
#
# Debian's chromium, driven by Playwright for Python (a test dependency from PyPI) through
# `executable_path="/usr/bin/chromium"`. No browser is ever downloaded at test time
# (`playwright install` is never run). `.ci/run` runs `apt-get update` before this.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "install-forms: chromium already installed"
  exit 0
fi

DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
  --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "install-forms: installed chromium $(dpkg-query -W -f='${Version}' chromium 2>/dev/null)"
