#!/usr/bin/env bash
# Makes sure Native AOT publishing has a linker, and prints the MSBuild argument that picks it.
# Native AOT links with clang by default; gcc works as well (-p:CppCompilerAndLinker=gcc), and the
# runtime pack brings its own static zlib and brotli, so no -dev package is needed. Order: clang if
# present, else gcc if present (no install, no network), else Debian's clang through apt-install.sh.
# stdout: the argument for `dotnet publish` (empty for clang); stderr: what was found or installed.
set -euo pipefail

say() { echo "install-aot-toolchain: $*" >&2; }

if command -v clang >/dev/null 2>&1; then
    say "linking with $(clang --version | head -n 1)"
    exit 0
fi
if command -v gcc >/dev/null 2>&1; then
    say "no clang; linking with $(gcc --version | head -n 1)"
    echo "-p:CppCompilerAndLinker=gcc"
    exit 0
fi

say "no clang and no gcc: installing clang with apt-get"
"$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" clang >&2
command -v clang >/dev/null 2>&1 || { say "clang still missing after apt-get install"; exit 1; }
say "installed $(clang --version | head -n 1)"
