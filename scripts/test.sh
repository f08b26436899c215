#!/usr/bin/env bash
# README command 2: set up, build and run the whole test suite: the CPU-only configuration
# (POLYPHONY_CUDA=OFF) under AddressSanitizer and UBSan, then the default one (CUDA when nvcc is
# present), so both keep working.
# CUDA tests skip themselves, saying so, on a machine without a GPU.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Each stage's time, so that CI's log shows where its minutes go (README records them).
stage_start=$SECONDS
stage() {
  echo "test: stage '$1' took $((SECONDS - stage_start)) s (total $((SECONDS / 60)) min $((SECONDS % 60)) s)"
  stage_start=$SECONDS
}
"$root/scripts/setup.sh"
stage setup
jobs=$(nproc)
# The readers of user files, fuzzed with AddressSanitizer and UBSan (20 s per target: CI's time is
# bounded; docs/fuzzing.md has longer runs).
"$root/scripts/fuzz.sh" "${POLYPHONY_FUZZ_SECONDS:-20}"
stage "fuzz build and run"
# The CUDA toolkit's usual home, for shells that do not have it on PATH.
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="/usr/local/cuda/bin:$PATH"
# The CPU-only configuration (POLYPHONY_CUDA=OFF), compiled with AddressSanitizer and UBSan. The
# Learning.* cases (whole trainings, minutes each) run in the default configuration only.
echo "test: CPU-only configuration (POLYPHONY_CUDA=OFF) with AddressSanitizer and UBSan"
POLYPHONY_BUILD_DIR="$root/build-asan" "$root/scripts/build.sh" -DPOLYPHONY_CUDA=OFF -DPOLYPHONY_SANITIZE=ON
stage "sanitized build"
(
  cd "$root/build-asan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
  export LSAN_OPTIONS="suppressions=$root/tests/lsan_suppressions.txt"
  ctest -j "$jobs" --output-on-failure -E '^Learning[./]' >"$root/build-asan/ctest.log" 2>&1
) || { cat "$root/build-asan/ctest.log"; echo "test: the sanitized CPU-only configuration failed"; exit 1; }
grep -E "^[0-9]+% tests passed" "$root/build-asan/ctest.log" | tail -n 1
stage "sanitized tests"
echo "test: default configuration (POLYPHONY_CUDA=AUTO)"
"$root/scripts/build.sh"
stage "default build"
cd "$root/build"
set +e
ctest -j "$jobs" --output-on-failure --output-junit "$root/build/ctest.junit.xml" 2>&1 | tee ctest.log
status=${PIPESTATUS[0]}
set -e
stage "default tests"
# ctest lists skipped tests after its summary; say why each was skipped (the reason the test
# gave: no GPU, a CPU without AVX-512, no root for the disk-full test...), then repeat the summary
# so that it is the last line.
grep -q "(Skipped)" ctest.log && python3 "$root/tests/skip_reasons.py" "$root/build/ctest.junit.xml"
grep -E "^[0-9]+% tests passed" ctest.log | tail -n 1
exit $status
