#!/bin/sh
# The SSH transport's tests start their own OpenSSH server (tests/remote/sshd.py) on a loopback
# port with their own host key and configuration; they need Debian's sshd binary only. The
# system's ssh service is never started or enabled: a policy-rc.d refuses it during install.
set -eu
if [ -x /usr/sbin/sshd ]; then
    exit 0
fi
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    own_policy=1
fi
DEBIAN_FRONTEND=noninteractive apt-get install -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends openssh-server >/dev/null
if [ -n "$own_policy" ]; then
    rm -f "$policy"
fi
# the packaged service stays disabled (the tests run their own sshd)
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable ssh.service ssh.socket >/dev/null 2>&1 || true
fi
test -x /usr/sbin/sshd
