#!/usr/bin/env bash
# README command 2: set up, build and run the whole test suite. Also builds and tests the
# CPU-only configuration (POLYPHONY_CUDA=OFF) when nvcc is present, so both keep working.
# CUDA tests skip themselves, saying so, on a machine without a GPU.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
jobs=$(nproc)
# The readers of user files, fuzzed with AddressSanitizer and UBSan (30 s per target).
"$root/scripts/fuzz.sh" "${POLYPHONY_FUZZ_SECONDS:-30}"
# The CUDA toolkit's usual home, for shells that do not have it on PATH.
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="/usr/local/cuda/bin:$PATH"
if command -v nvcc >/dev/null 2>&1; then
  echo "test: CPU-only configuration (POLYPHONY_CUDA=OFF)"
  POLYPHONY_BUILD_DIR="$root/build-cpu" "$root/scripts/build.sh" -DPOLYPHONY_CUDA=OFF
  (cd "$root/build-cpu" && ctest -j "$jobs" --output-on-failure >"$root/build-cpu/ctest.log" 2>&1) ||
    { cat "$root/build-cpu/ctest.log"; echo "test: the CPU-only configuration failed"; exit 1; }
  tail -n 3 "$root/build-cpu/ctest.log"
fi
echo "test: default configuration (POLYPHONY_CUDA=AUTO)"
"$root/scripts/build.sh"
cd "$root/build"
set +e
ctest -j "$jobs" --output-on-failure 2>&1 | tee ctest.log
status=${PIPESTATUS[0]}
set -e
# ctest lists skipped tests (the CUDA cases without a GPU) after its summary; repeat the
# summary so that it is the last line.
grep -q "(Skipped)" ctest.log && echo "(skipped: CUDA cases, no GPU on this machine; scripts/gpu_build.sh runs them)"
grep -E "^[0-9]+% tests passed" ctest.log | tail -n 1
exit $status
