#!/usr/bin/env bash
# README command 1: set up, build the command line (only it, not the test suite), and train the
# default model on the built-in synthetic music dataset (CPU, or the GPU when there is one).
# The build shows its progress, one line per compiled file. Extra arguments go to
# `polyphony train`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
POLYPHONY_BUILD_TARGETS=polyphony "$root/scripts/build.sh"
cd "$root"
exec "$root/build/tools/polyphony" train "$@"
