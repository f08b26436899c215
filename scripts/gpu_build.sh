#!/usr/bin/env bash
# Builds Polyphony on a CUDA machine that already has PyTorch 2.11 (its LibTorch is found through
# `python3 -c 'import torch; print(torch.utils.cmake_prefix_path)'`) and no network, runs the
# whole test suite including the CUDA tests, a CUDA training run, and writes every log to LOGS.
#
#   scripts/gpu_build.sh --deps PREFIX --logs LOGS [--python PYTHON] [--build DIR]
#                        [--steps build,test,train,bench,benchmarks] [--tests all|cuda]
#
# PREFIX holds the extra dependencies as unpacked Debian packages (fmt, cxxopts, GoogleTest,
# nlohmann-json, ...; see docs/gpu.md): PREFIX/usr goes on CMAKE_PREFIX_PATH. --steps runs only
# the steps named (default: all, in that order; a step after build reuses DIR's build), so that
# the work fits a time-limited call; --tests cuda runs only the tests whose name says CUDA (the
# CPU suite runs in CI). The Dockerfile runs the same steps.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps="" logs="" python=python3 build="$root/build-gpu" steps="build,test,train,bench,benchmarks"
tests=all
while [ $# -gt 0 ]; do
  case "$1" in
    --deps) deps=$2; shift 2 ;;
    --logs) logs=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --tests) tests=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "gpu_build: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$logs" ] || { echo "gpu_build: --logs DIR is required" >&2; exit 2; }
for name in ${steps//,/ }; do
  case "$name" in
    build|test|train|bench|benchmarks) ;;
    *) echo "gpu_build: --steps: unknown step '$name' (build, test, train, bench, benchmarks)" >&2
       exit 2 ;;
  esac
done
case "$tests" in
  all) test_filter=() ;;
  cuda) test_filter=(-R '[Cc][Uu][Dd][Aa]') ;;
  *) echo "gpu_build: --tests must be all or cuda (got '$tests')" >&2; exit 2 ;;
esac
wanted() { [[ ",$steps," == *",$1,"* ]]; }
mkdir -p "$logs"
prefix_path=""
if [ -n "$deps" ]; then
  [ -d "$deps" ] || { echo "gpu_build: --deps $deps is not a directory" >&2; exit 2; }
  deps=$(cd "$deps" && pwd)
  prefix_path="$deps/usr;$deps/usr/lib/x86_64-linux-gnu/cmake"
  export CPATH="$deps/usr/include${CPATH:+:$CPATH}"
fi

step() { echo "== $1"; }
step "environment ($steps)" | tee -a "$logs/summary.txt"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  nvcc --version | tail -n 1 || true
  "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' ||
    echo "gpu_build: $python cannot import torch"
  date -u +%Y-%m-%dT%H:%M:%SZ; } >>"$logs/summary.txt" 2>&1

if wanted build; then
  step "configure"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPOLYPHONY_CUDA=ON \
    -DPOLYPHONY_PYTHON="$(command -v "$python")" -DPOLYPHONY_WERROR=ON \
    ${prefix_path:+"-DCMAKE_PREFIX_PATH=$prefix_path"} >"$logs/configure.log" 2>&1 ||
    { tail -n 40 "$logs/configure.log"; exit 1; }
  step "build"
  cmake --build "$build" -j "$(nproc)" >"$logs/build.log" 2>&1 || { tail -n 60 "$logs/build.log"; exit 1; }
fi
[ -x "$build/tools/polyphony" ] || { echo "gpu_build: no build in $build (run the build step)" >&2; exit 1; }

status=0
if wanted test; then
  step "tests ($tests; CUDA cases included)"
  (cd "$build" && ctest -j 4 --output-on-failure "${test_filter[@]}" >"$logs/ctest.log" 2>&1) || status=1
  grep -E "tests passed|tests failed" "$logs/ctest.log" | tee -a "$logs/summary.txt"
  if grep -q "no CUDA device" "$build"/Testing/Temporary/LastTest.log 2>/dev/null; then
    echo "gpu_build: CUDA test cases were skipped: no GPU visible" | tee -a "$logs/summary.txt"
    status=1
  fi
fi

if wanted train; then
  step "train on CUDA"
  rm -rf "$logs/run-cuda"
  "$build/tools/polyphony" train --device cuda --out "$logs/run-cuda" >"$logs/train-cuda.log" 2>&1 || status=1
  tail -n 25 "$logs/train-cuda.log" | tee -a "$logs/summary.txt"
fi

if wanted bench; then
  step "polyphony bench (CPU and CUDA side by side)"
  "$build/tools/polyphony" bench --json "$logs/bench.json" >"$logs/bench.log" 2>&1 || status=1
  tail -n 16 "$logs/bench.log" | tee -a "$logs/summary.txt"
fi

if wanted benchmarks; then
  step "benchmarks"
  "$build/benchmarks/polyphony_benchmarks" --benchmark_format=console \
    --benchmark_out="$logs/benchmarks.json" --benchmark_out_format=json \
    >"$logs/benchmarks.log" 2>&1 || status=1
  tail -n 40 "$logs/benchmarks.log" | tee -a "$logs/summary.txt"
fi
exit $status
