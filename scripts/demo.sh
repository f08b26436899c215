#!/usr/bin/env bash
# README command 1: set up, build, and train the default model on the built-in synthetic music
# dataset (CPU, or the GPU when there is one). Extra arguments go to `polyphony train`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" >/dev/null
cd "$root"
exec "$root/build/tools/polyphony" train "$@"
