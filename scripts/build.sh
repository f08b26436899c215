#!/usr/bin/env bash
# Configures and builds Polyphony in build/ (or $POLYPHONY_BUILD_DIR): everything, or only the
# targets named in $POLYPHONY_BUILD_TARGETS (e.g. "polyphony"). Extra CMake arguments pass
# through, e.g. -DPOLYPHONY_CUDA=OFF. Warnings are errors under CI (CI=true).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${POLYPHONY_BUILD_DIR:-$root/build}
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
jobs=$(nproc)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPOLYPHONY_WERROR=$werror "$@" >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
targets=()
for target in ${POLYPHONY_BUILD_TARGETS:-}; do targets+=(--target "$target"); done
echo "build: compiling ${POLYPHONY_BUILD_TARGETS:-everything} in $build with $jobs jobs"
cmake --build "$build" -j "$jobs" "${targets[@]}"
