#!/usr/bin/env bash
# Installs Debian's rabbitmq-server when it is missing. Idempotent.
# The Debian service is never started by this script (and is stopped again if the
# package installation started it); the tests run private nodes on their own ports
# (see scripts/broker.sh). A system node that was already running is left alone.
set -euo pipefail

# True when a beam process of the rabbitmq user runs (no procps needed).
system_node_running() {
    local uid p
    uid=$(id -u rabbitmq 2>/dev/null) || return 1
    for p in /proc/[0-9]*; do
        [ "$(stat -c %u "$p" 2>/dev/null)" = "$uid" ] || continue
        case "$(cat "$p/comm" 2>/dev/null)" in beam*) return 0 ;; esac
    done
    return 1
}

have_broker() {
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || [ -x /usr/sbin/rabbitmq-server ]
}

if have_broker; then
    echo "install-broker: rabbitmq-server already installed ($(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo unknown version))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "install-broker: rabbitmq-server missing and not root (no sudo); cannot install" >&2
        exit 1
    fi
fi

# Was a system node running before we installed? (Then it is not ours to stop.)
system_node_was_running=0
if system_node_running; then system_node_was_running=1; fi

# Keep the package's init script from starting the Debian service, unless the
# machine already has a policy-rc.d (Docker-style images usually do).
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    $SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT

echo "install-broker: installing rabbitmq-server with apt-get"
"$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" rabbitmq-server

if ! have_broker; then
    echo "install-broker: rabbitmq-server still missing after apt-get install" >&2
    exit 1
fi

# If the installation nevertheless started the Debian service, stop it again.
if [ "$system_node_was_running" = 0 ] && system_node_running; then
    echo "install-broker: stopping the Debian rabbitmq-server service started by the package"
    $SUDO service rabbitmq-server stop >/dev/null 2>&1 || $SUDO systemctl stop rabbitmq-server >/dev/null 2>&1 || true
    if system_node_running; then
        $SUDO /usr/sbin/rabbitmqctl stop >/dev/null 2>&1 || true
    fi
fi

echo "install-broker: installed rabbitmq-server $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || true)"
