#!/usr/bin/env bash
# apt-install.sh PACKAGE...: installs Debian packages without recommends, non-interactively, as root or
# through `sudo -n`. Waits up to 5 minutes for another apt/dpkg run's lock, and tries update + install
# three times, 15 s apart, so that one mirror hiccup does not fail a CI run. Exit code 1 when every
# attempt failed (each attempt's output stays in the log).
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: apt-install.sh PACKAGE..." >&2; exit 2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "apt-install: not root and no sudo; cannot install $*" >&2; exit 1; }
    SUDO="sudo -n"
fi

lock=(-o DPkg::Lock::Timeout=300)
for attempt in 1 2 3; do
    if $SUDO apt-get "${lock[@]}" update -q \
        && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -q --no-install-recommends "$@"; then
        exit 0
    fi
    echo "apt-install: attempt $attempt of 3 to install $* failed" >&2
    [ "$attempt" = 3 ] || sleep 15
done
exit 1
