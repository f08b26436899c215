#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with AddressSanitizer and UBSan) and runs each for
# SECONDS (default 30) from its seed corpus. A crash, a sanitizer report or a broken reader
# contract fails the script and leaves the input in build-fuzz/crash-*.
# usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-30}
build=${POLYPHONY_FUZZ_BUILD_DIR:-$root/build-fuzz}
cmake -S "$root/fuzz" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" >"$build/build.log" 2>&1 || { cat "$build/build.log"; exit 1; }
# LibTorch's own leaks are not findings; a small quarantine keeps ASan's memory in the limit.
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan_suppressions.txt${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export ASAN_OPTIONS="quarantine_size_mb=64:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
# TARGET:MAX_LEN:RSS_LIMIT_MB. LibTorch's own libraries take part of the checkpoint target's memory.
for entry in interaction_file:4096:2048 lightgcn_folder:4096:2048 recbole_folder:4096:2048 \
  attribute_file:4096:2048 \
  config_file:4096:2048 sweep_file:4096:2048 tune_file:4096:2048 report_files:8192:2048 tensorboard_events:8192:2048 \
  run_json:8192:2048 dataset_cache:8192:2048 checkpoint_file:8192:3072; do
  IFS=: read -r target max_len rss_limit <<<"$entry"
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  log=$build/$target.log
  # The first folder collects what the run discovers; the seeds stay as committed.
  if ! "$build/fuzz_$target" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb="$rss_limit" \
    -print_final_stats=1 -artifact_prefix="$build/" "$corpus" "$root/fuzz/corpus/$target" \
    >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: fuzz_$target failed; the input is in $build/"
    exit 1
  fi
  # libFuzzer's final statistics say how many inputs ran; without them nothing shows it fuzzed.
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  if [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
    tail -n 20 "$log"
    echo "fuzz: fuzz_$target reported no executed inputs (see $log)"
    exit 1
  fi
  echo "fuzz: fuzz_$target ran $runs inputs in ${seconds} s, corpus $(ls "$corpus" | wc -l) files: no finding"
done
