#!/usr/bin/env bash
# Installs the native toolchain that Native AOT publishing links with (Debian's clang and
# zlib1g-dev) when it is missing. Idempotent; prints what it found or installed.
set -euo pipefail

have_toolchain() {
    command -v clang >/dev/null 2>&1 && [ -f /usr/include/zlib.h ]
}

if have_toolchain; then
    echo "install-aot-toolchain: $(clang --version | head -n 1); zlib1g-dev $(dpkg-query -W -f='${Version}' zlib1g-dev 2>/dev/null || echo present)"
    exit 0
fi

echo "install-aot-toolchain: installing clang and zlib1g-dev with apt-get"
"$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" clang zlib1g-dev

if ! have_toolchain; then
    echo "install-aot-toolchain: clang or zlib1g-dev still missing after apt-get install" >&2
    exit 1
fi
echo "install-aot-toolchain: installed $(clang --version | head -n 1)"
