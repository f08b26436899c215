#!/usr/bin/env bash
# Stages a git-ignored kit for a GPU machine that has PyTorch 2.11 (CUDA 13) but no compiler time
# to spare: the binaries built here with the CUDA kernels (sm_90) and the few Debian libraries
# they need that such a machine lacks. The tracked files (scripts, tests' helpers, configs, the
# reference loop) travel with the working tree; scripts/gpu_run.sh runs everything there.
#
#   scripts/gpu_kit.sh [--build DIR] [--kit DIR]      (defaults: build/, gpu-kit/)
#
# On the GPU machine:  scripts/gpu_run.sh gpu-kit OUT_DIR [STEPS]   (docs/gpu.md)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build kit=$root/gpu-kit
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --kit) kit=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "gpu_kit: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
grep -q '^POLYPHONY_WITH_CUDA:INTERNAL=ON' "$build/CMakeCache.txt" 2>/dev/null ||
  grep -q 'POLYPHONY_WITH_CUDA=1' "$build/build.ninja" 2>/dev/null ||
  { echo "gpu_kit: $build was not configured with the CUDA kernels (nvcc on PATH, POLYPHONY_CUDA=ON)" >&2
    exit 1; }
binaries=(tools/polyphony tests/polyphony_tests benchmarks/polyphony_benchmarks
          tests/torchscript_loader)
for b in "${binaries[@]}"; do
  [ -x "$build/$b" ] || { echo "gpu_kit: $build/$b is missing: build first (scripts/build.sh)" >&2; exit 1; }
done

rm -rf "$kit" && mkdir -p "$kit/bin" "$kit/lib"
for b in "${binaries[@]}"; do cp "$build/$b" "$kit/bin/"; done
# Symbol tables are a fifth of the binaries and nothing on the device reads them.
strip --strip-unneeded "$kit/bin/"*
# Libraries resolved from the system's library folder, except glibc's and the C++ runtime, which
# every Linux machine has (newer there; an older copy ahead of them would break them): Google
# Benchmark, and whatever else a Debian -dev package added.
base='^(libc|libm|libdl|librt|libpthread|libutil|libresolv|libanl|libnsl|libcrypt|libstdc\+\+|libgcc_s|ld-linux-x86-64)\.so'
for b in "${binaries[@]}"; do
  ldd "$build/$b" | awk '$3 ~ "^/(usr/)?lib/x86_64-linux-gnu/" {print $1, $3}'
done | sort -u | while read -r name path; do
  # BLAS and LAPACK (FAISS's, in export --faiss) from Debian's reference builds, which the
  # alternatives may point away from: OpenBLAS is 36 MB, over the kit's limit, and the device
  # exports small catalogues only.
  case $name in
    libblas.so.3 | liblapack.so.3)
      reference=/usr/lib/x86_64-linux-gnu/${name%%.so*}/$name
      [ -e "$reference" ] && path=$reference
      ;;
    libopenblas*) continue ;;
  esac
  [[ $name =~ $base ]] || cp -L "$path" "$kit/lib/$name"
done
# The commit the binaries were built from, "+changes" when tracked files differed from it: the
# run's summary names it, and docs/gpu_runs.tsv records it (scripts/gpu_status.py).
commit=$(git -C "$root" rev-parse --short HEAD)
git -C "$root" diff --quiet HEAD -- || commit+="+changes"
echo "$commit" > "$kit/COMMIT"
# The libraries travel packed (a third of their size; gpu_run.sh unpacks them on the device).
tar -C "$kit" -cf - lib | xz -T0 -6 >"$kit/lib.tar.xz" && rm -rf "$kit/lib"
size=$(du -sm "$kit" | cut -f1)
echo "gpu_kit: $kit ($size MB, commit $commit): $(ls "$kit/bin" | tr '\n' ' ')+ $(tar -tJf "$kit/lib.tar.xz" | sed -n 's|^lib/||p' | tr '\n' ' ')"
[ "$size" -lt 48 ] || { echo "gpu_kit: the kit is over 48 MB; the device tool carries 64 MB in all" >&2; exit 1; }
