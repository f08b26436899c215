#!/usr/bin/env bash
# Every GPU check of Polyphony in one call on a machine with a CUDA GPU and PyTorch 2.11, from the
# binaries of scripts/gpu_kit.sh (nothing is built there). Each step runs under its own timeout and
# writes one log into OUT; OUT/summary.txt gathers what matters, most important first.
#
#   scripts/gpu_run.sh KIT OUT [STEPS]
#
# STEPS, a comma list (default: all, in this order):
#   tests      the CUDA test cases (kernel parity and gradients, non-finite input, deterministic
#              backward, evaluator device invariance, fused Adam, launch counts)
#   sanitize   the kernels' CUDA cases under compute-sanitizer (memcheck, racecheck)
#   train      training on CUDA (demo, each config), non-finite input, --deterministic twice,
#              exact resume after SIGKILL, eval/recommend/analyze/export on CUDA, data parallel
#   bench      polyphony bench, CPU and CUDA, at MovieLens-1M's shape
#   kernels    the kernel benchmarks at the GPU sizes
#   profile    Nsight Compute on the top-k kernels (forward k = 4, 32; backward k = 32)
#   reference  the hand-written PyTorch loop on CUDA on the same data
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 2 ] || { sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 2; }
kit=$(cd "$1" && pwd) || exit 2
out=$2
steps=${3:-tests,sanitize,train,bench,kernels,reference}
mkdir -p "$out" && out=$(cd "$out" && pwd)
summary=$out/summary.txt
work=${TMPDIR:-/tmp}/polyphony-gpu
rm -rf "$work" && mkdir -p "$work"
# Every FAILED or TIMED OUT line counts; the script exits with status 1 when any step failed.
failures=0
note() {
  echo "$*" | tee -a "$summary"
  case "$*" in FAILED* | "TIMED OUT"*) failures=$((failures + 1)) ;; esac
}
wanted() { [[ ",$steps," == *",$1,"* ]]; }

# The machine's own LibTorch and CUDA libraries (the binaries' RUNPATH names this build machine's).
python=${POLYPHONY_PYTHON:-python3}
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))') ||
  { note "gpu_run: $python cannot import torch"; exit 1; }
libraries=$torch_dir/lib
for d in "$(dirname "$torch_dir")"/nvidia/*/lib; do [ -d "$d" ] && libraries=$libraries:$d; done
# The kit's libraries travel packed (scripts/gpu_kit.sh).
kit_lib=$kit/lib
if [ -f "$kit/lib.tar.xz" ]; then
  tar -C "$work" -xJf "$kit/lib.tar.xz" || { note "gpu_run: cannot unpack $kit/lib.tar.xz"; exit 1; }
  kit_lib=$work/lib
fi
export LD_LIBRARY_PATH=$kit_lib:$libraries${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
bin=$kit/bin
polyphony=$bin/polyphony
# MovieLens-1M's shape: 6,040 users, 3,706 items, 1,000,209 ratings. Synthetic data has no
# ratings, so the configs run without their rating threshold (ML-1M's).
ml1m=synthetic:users=6040,items=3706,interactions=1000209
for config in "$root"/configs/*.toml; do
  grep -v '^min_rating' "$config" > "$work/$(basename "$config")"
done

# step LOG NAME SECONDS COMMAND...: runs COMMAND under a timeout, appending to LOG; one summary line.
step() {
  local log=$out/$1 name=$2 seconds=$3
  shift 3
  echo "== $name: $*" >> "$log"
  local start=$SECONDS
  timeout -k 5 "$seconds" "$@" >> "$log" 2>&1
  local status=$?
  local verdict=ok
  [ $status -eq 0 ] || verdict="FAILED (exit $status)"
  [ $status -eq 124 ] && verdict="TIMED OUT after ${seconds}s"
  echo "== $name: $verdict, $((SECONDS - start)) s" >> "$log"
  note "$verdict: $name ($((SECONDS - start)) s)"
  return $status
}
# expect_failure LOG NAME SECONDS PATTERN COMMAND...: COMMAND must fail with PATTERN in its output
# and nothing of an illegal memory access.
expect_failure() {
  local log=$out/$1 name=$2 seconds=$3 pattern=$4
  shift 4
  echo "== $name: $*" >> "$log"
  timeout -k 5 "$seconds" "$@" > "$work/last.log" 2>&1
  local status=$?
  cat "$work/last.log" >> "$log"
  if [ $status -ne 0 ] && [ $status -ne 124 ] && grep -q -- "$pattern" "$work/last.log" &&
     ! grep -qi "illegal memory access\|illegal address" "$work/last.log"; then
    note "ok: $name (exit $status: $(grep -m1 -o -- "$pattern.\{0,60\}" "$work/last.log"))"
  else
    note "FAILED: $name (exit $status, want '$pattern'): $(tail -n 2 "$work/last.log" | tr '\n' ' ')"
  fi
}
# same_run A B: equal test metrics, parameters and epoch logs (timings and memory aside).
epoch_log() {
  sed -E 's/"(seconds|step_seconds|interactions_per_second|peak_rss_mb|peak_cuda_memory_mb)":[^,}]*,?//g' "$1/metrics.jsonl"
}
same_run() {
  cmp -s "$1/metrics.json" "$2/metrics.json" &&
    [[ "$(grep parameters_xxh64 "$1/summary.json")" == "$(grep parameters_xxh64 "$2/summary.json")" ]] &&
    diff <(epoch_log "$1") <(epoch_log "$2") > /dev/null
}
check() {  # check NAME COMMAND...
  local name=$1
  shift
  if "$@"; then note "ok: $name"; else note "FAILED: $name"; fi
}

{
  echo "# Polyphony GPU run, $(date -u +%Y-%m-%dT%H:%M:%SZ), steps $steps"
  echo "commit: $(cat "$kit/COMMIT" 2>/dev/null || echo "unknown (a kit without COMMIT)")"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader
  "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())'
  echo "cpu cores: $(nproc)"
  missing=$(ldd "$polyphony" "$bin/polyphony_tests" "$bin/polyphony_benchmarks" | grep "not found" | sort -u)
  [ -z "$missing" ] || echo "MISSING LIBRARIES: $missing"
} >> "$summary" 2>&1
cat "$summary"

if wanted tests; then
  # The replayed-step cases of models not yet shown to replay run one process each, after the
  # rest: a capture that fails can leave PyTorch's CUDA generator in capture mode for the process.
  step tests.log "CUDA test cases" 150 "$bin/polyphony_tests" --gtest_color=no \
    --gtest_filter='*cuda*:*Cuda*:*CUDA*:*NonFinite*:*Deterministic*:*StepGraph*-StepGraph/ReplayedSteps.*'
  # Each model's captured step against its eager steps (--cuda-graph on for MF, try for the
  # others): a model whose case passes can declare graph_capture_shown (docs/training.md).
  for model in mf uiprotomf uprotomf acf lightgcn multi_interest; do
    step tests.log "captured step of $model replays as its eager steps" 60 \
      "$bin/polyphony_tests" --gtest_color=no \
      --gtest_filter="StepGraph/ReplayedSteps.TrainAsEagerSteps/${model}_cuda"
    sed -n "/^== captured step of $model replays/,\$p" "$out/tests.log" |
      grep -E "could not be captured|Failure|error" | head -n 2 >> "$summary"
  done
  # gtest's closing lines: the counts and the names of failed cases. A case skipped because no
  # CUDA device was seen fails the step too; a few cases skip on CUDA by design (a CPU kernel's
  # property, such as its thread-count independence), with their own reason, and are listed.
  sed -n '/^\[==========\] .* ran\./,$p' "$out/tests.log" | grep -v "(0 ms)$" | head -n 40 >> "$summary"
  no_gpu=$(grep -c "no CUDA device on this machine" "$out/tests.log")
  [ "$no_gpu" -eq 0 ] || note "FAILED: $no_gpu CUDA test cases were skipped for want of a GPU (none seen)"
  # gtest prints a skipped case's reason on the line before its "[  SKIPPED ] NAME (N ms)".
  awk '/^\[  SKIPPED \] .* \([0-9]+ ms\)$/ && previous !~ /no CUDA device/ {
         print "skipped by design: " $4 ": " previous } { previous = $0 }' "$out/tests.log" \
    >> "$summary"
fi

if wanted sanitize; then
  # The kernels' parity cases under compute-sanitizer: out-of-bounds or misaligned accesses, and
  # shared-memory races, reported even when the results happen to be right.
  cases='*TopkFilterParity.Forward*cuda:*TopkFilterParity.NonFinite*cuda:'
  cases+='*TopkFilterParity.Gradients*cuda:*SpectralNormParity*cuda'
  for tool in memcheck racecheck; do
    step tests.log "compute-sanitizer $tool on the kernels' CUDA cases" 90 compute-sanitizer \
      --tool $tool --error-exitcode 1 "$bin/polyphony_tests" --gtest_color=no \
      --gtest_filter="$cases"
    grep -E "ERROR SUMMARY" "$out/tests.log" | tail -n 1 >> "$summary"
  done
fi

if wanted train; then
  log=train.log
  cache=(--cache-dir "$work/cache")
  step $log "train: the default demo on CUDA" 90 "$polyphony" train --device cuda --out "$work/demo"
  tail -n 12 "$out/$log" | grep -E "epoch|NDCG|peak" | tail -n 4 >> "$summary"
  grep -o '"peak_cuda_memory_mb":[^,}]*' "$work/demo/metrics.jsonl" | tail -n 1 >> "$summary"
  # Row-sparse embedding updates on CUDA (the tensor-operation path of kernels/row_updates),
  # at a catalogue of a million items, where they matter.
  step $log "train: --embedding-updates sparse on CUDA, 1 M items" 90 "$polyphony" train \
    --device cuda --embedding-updates sparse --epochs 2 --eval-every 1 --eval-protocol sampled:100 \
    --dataset synthetic:music-small,users=2000,items=1000000,interactions=200000 \
    --out "$work/sparse"
  grep -o '"step_seconds":[^,}]*' "$work/sparse/metrics.jsonl" | tail -n 1 >> "$summary"
  # The configs at ML-1M's shape, one epoch; UI-ProtoMF's reference settings on the small preset
  # (its ML-1M epoch is what bench times).
  for config in mf-bpr lightgcn multi-interest mf-resn uiprotomf-reference; do
    data=$ml1m
    [ $config = uiprotomf-reference ] && data=synthetic:music-small
    step $log "train: configs/$config.toml on CUDA, ${data#synthetic:}, 1 epoch" 60 "$polyphony" \
      train --config "$work/$config.toml" --device cuda --dataset "$data" --epochs 1 \
      --eval-every 1 "${cache[@]}" --out "$work/$config"
    figures=$(grep -h -o '"seconds":[^,]*\|"interactions_per_second":[^,]*\|"peak_cuda_memory_mb":[^,}]*' \
      "$work/$config/metrics.jsonl" 2>/dev/null | tail -n 3 | paste -sd' ')
    [ -z "$figures" ] || echo "$figures" >> "$summary"
  done

  # The same configs with their step captured (--cuda-graph try), the models not yet shown to
  # replay included: the epoch time a captured step gives, and the log's word on the capture.
  for config in lightgcn multi-interest uiprotomf-reference; do
    data=$ml1m
    [ $config = uiprotomf-reference ] && data=synthetic:music-small
    step $log "train: configs/$config.toml on CUDA, --cuda-graph try, 1 epoch" 60 "$polyphony" \
      train --config "$work/$config.toml" --device cuda --dataset "$data" --epochs 1 \
      --eval-every 1 --cuda-graph try "${cache[@]}" --out "$work/$config-graph"
    grep -h -o "CUDA graph: [^)]*" "$out/$log" | tail -n 1 >> "$summary"
    grep -h -o '"seconds":[^,]*' "$work/$config-graph/metrics.jsonl" 2>/dev/null | tail -n 1 >> "$summary"
  done

  # Non-finite input reaches the top-k filter on CUDA: the trainer's handling, never an illegal
  # memory access (the rollback keeps halving the learning rate, then stops with advice).
  expect_failure $log "non-finite ProtoMF on CUDA ends in the trainer's handling" 90 \
    "training diverged" "$polyphony" train --device cuda --model uiprotomf --k-filter 8,8 \
    --lr 1e30 --dataset synthetic:music-small --epochs 2 --eval-every 0 --on-nonfinite rollback \
    --checkpoint-every-steps 5 --out "$work/nonfinite"

  # The memory estimate's CUDA branch (cudaMemGetInfo): a configuration that cannot fit on the
  # GPU is refused before anything is allocated, naming the device and the option.
  expect_failure $log "an impossible --dim is refused on CUDA before allocating" 60 \
    "GiB free on cuda" "$polyphony" train --device cuda --dataset synthetic:music-small \
    --dim 100000000 --out "$work/too-big"

  # --deterministic twice: the same bits; killed with SIGKILL and resumed: the same bits again.
  resume=(--dataset synthetic:music-small --epochs 3 --eval-every 1 --batch-size 256
          --checkpoint-every-steps 25 --resn 0.1 --deterministic --device cuda --quiet)
  step $log "deterministic MF+ReSN on CUDA, run 1" 60 "$polyphony" train "${resume[@]}" --out "$work/det1"
  step $log "deterministic MF+ReSN on CUDA, run 2" 60 "$polyphony" train "${resume[@]}" --out "$work/det2"
  check "--deterministic on CUDA: two runs bit-identical (MF+ReSN)" same_run "$work/det1" "$work/det2"
  POLYPHONY_KILL_AT_STEP=40 timeout 60 "$polyphony" train "${resume[@]}" --out "$work/killed" \
    >> "$out/$log" 2>&1
  note "killed at step 40: exit $? (137 expected)"
  step $log "resume on CUDA after SIGKILL" 60 "$polyphony" train --resume "$work/killed"
  check "SIGKILL + resume on CUDA = uninterrupted run, bit for bit" same_run "$work/det1" "$work/killed"
  proto=(--dataset synthetic:music-small --model uiprotomf --k-filter 8,8 --ortho 0.1 --epochs 2
         --eval-every 1 --deterministic --device cuda --quiet)
  step $log "deterministic UI-ProtoMF k-filter on CUDA, run 1" 60 "$polyphony" train "${proto[@]}" --out "$work/pdet1"
  step $log "deterministic UI-ProtoMF k-filter on CUDA, run 2" 60 "$polyphony" train "${proto[@]}" --out "$work/pdet2"
  check "--deterministic on CUDA: two runs bit-identical (UI-ProtoMF, k-filter)" same_run "$work/pdet1" "$work/pdet2"

  # eval, recommend, analyze on CUDA; the export loaded in Python with map_location="cuda".
  timeout 60 "$polyphony" eval "$work/demo" --device cuda --json > "$work/eval.json" 2>> "$out/$log"
  ndcg() { grep -m1 '"NDCG@10"' "$1" | tr -d ' ,'; }
  note "eval --device cuda: $(ndcg "$work/eval.json"); the run's own: $(ndcg "$work/demo/metrics.json")"
  check "eval --device cuda reproduces the run's test NDCG@10" \
    test -n "$(ndcg "$work/eval.json")" -a "$(ndcg "$work/eval.json")" = "$(ndcg "$work/demo/metrics.json")"
  step $log "recommend --device cuda" 60 "$polyphony" recommend "$work/demo" --device cuda \
    --all-users -k 10 --out "$work/top.csv"
  step $log "analyze --device cuda" 90 "$polyphony" analyze "$work/uiprotomf-reference" \
    --device cuda --no-plots --out "$work/analysis"
  step $log "export, loaded by Python (cpu, cuda) and C++" 90 bash "$root/tests/export_test.sh" \
    "$polyphony" "$bin/torchscript_loader" "$python" "$work/demo" "$work/export"
  grep -h "^ok on" "$out/$log" | tail -n 2 >> "$summary"

  # Data parallel: NCCL in a group of one (torchrun), two processes sharing the GPU through Gloo,
  # and two NCCL processes on one GPU refused up front.
  small=(train --dataset synthetic:music-small --epochs 2 --eval-every 1 --device cuda --quiet)
  step $log "torchrun, 1 process, NCCL" 90 "$python" -m torch.distributed.run --no-python \
    --standalone --nproc-per-node 1 "$polyphony" "${small[@]}" --out "$work/nccl1"
  grep -h "data parallel" "$out/$log" | tail -n 1 >> "$summary"
  step $log "2 processes on one GPU (Gloo) = 1 process" 120 env POLYPHONY_DIST_BACKEND=gloo \
    bash "$root/tests/distributed_test.sh" "$polyphony" "$python" "$work/gloo" --device cuda
  expect_failure $log "2 NCCL processes on one GPU refused" 60 "NCCL runs one process per GPU" \
    "$python" -m torch.distributed.run --no-python --standalone --nproc-per-node 2 "$polyphony" \
    "${small[@]}" --out "$work/nccl2"
fi

if wanted bench; then
  step bench.log "bench mf, CPU and CUDA, ML-1M shape" 90 "$polyphony" bench --models mf \
    --device cpu,cuda --dataset "$ml1m" --no-kernels --min-time 0.5 --json "$out/bench-mf.json"
  step bench.log "bench UI-ProtoMF reference settings, CUDA" 90 "$polyphony" bench \
    --config "$work/uiprotomf-reference.toml" --set "data.dataset=$ml1m" --device cuda \
    --no-kernels --min-time 0.01
  step bench.log "bench lightgcn, CUDA" 60 "$polyphony" bench --models lightgcn --device cuda \
    --dataset "$ml1m" --no-kernels --min-time 0.5
  grep -E "^(train|evaluate)_" "$out/bench.log" | sort -u >> "$summary"
fi

if wanted kernels; then
  step kernels.log "kernel benchmarks, CUDA, GPU sizes" 120 "$bin/polyphony_benchmarks" \
    --benchmark_filter='^(topk_filter|spectral_norm|factorized|evaluate_full).*/cuda/' --benchmark_min_time=0.3 --benchmark_out="$out/kernels.json" \
    --benchmark_out_format=json
  grep -E "^[a-z_0-9]+/cuda" "$out/kernels.log" >> "$summary"
fi

if wanted profile; then
  # Nsight Compute on the top-k forward kernel at the benchmark size, k = 4 and k = 32: where the
  # time goes (compute, shared memory, occupancy). Clocks left as they are.
  for k in 4 32; do
    step profile.log "ncu: top-k forward kernel, N 1M, L 128, d 64, k $k" 90 ncu \
      --clock-control none --kernel-name regex:topk_forward_kernel --launch-count 1 \
      --section SpeedOfLight --section Occupancy --section LaunchStats \
      --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
      "$bin/polyphony_benchmarks" --benchmark_filter="^topk_filter_fwd/cuda/.*/k:$k/" \
      --benchmark_min_time=0.01
  done
  step profile.log "ncu: top-k backward kernels, N 1M, L 128, d 64, k 32" 90 ncu \
    --clock-control none --kernel-name regex:'entity_grad_kernel|prototype_partial_kernel' \
    --launch-count 2 --section SpeedOfLight --section Occupancy --section LaunchStats \
    "$bin/polyphony_benchmarks" --benchmark_filter="^topk_filter_fwd_bwd/cuda/.*/k:32/" \
    --benchmark_min_time=0.01
  grep -E "^  [A-Z].*(Throughput|Duration|Achieved Occupancy|Registers Per|Pipe|Executed Ipc)" \
    "$out/profile.log" | head -n 40 >> "$summary"
fi

if wanted reference; then
  step reference.log "datagen ML-1M shape" 60 "$polyphony" datagen --dataset "$ml1m" \
    --format movielens --out "$work/ml"
  step reference.log "reference loop, BPR-MF, CUDA" 60 "$python" \
    "$root/benchmarks/torch_reference_loop.py" --ratings "$work/ml/ratings.dat" --device cuda \
    --model mf --batch-size 4096
  step reference.log "reference loop, UI-ProtoMF reference settings, CUDA, 600 steps" 60 "$python" \
    "$root/benchmarks/torch_reference_loop.py" --ratings "$work/ml/ratings.dat" --device cuda \
    --model uiprotomf --dim 81 --batch-size 326 --negatives 38 --loss softmax --max-steps 600
  # The same two, captured as CUDA graphs (what Polyphony's captured step is compared with).
  step reference.log "reference loop, BPR-MF, CUDA graph" 60 "$python" \
    "$root/benchmarks/torch_reference_loop.py" --ratings "$work/ml/ratings.dat" --device cuda \
    --model mf --batch-size 4096 --cuda-graph
  step reference.log "reference loop, UI-ProtoMF reference settings, CUDA graph, 600 steps" 60 \
    "$python" "$root/benchmarks/torch_reference_loop.py" --ratings "$work/ml/ratings.dat" \
    --device cuda --model uiprotomf --dim 81 --batch-size 326 --negatives 38 --loss softmax \
    --max-steps 600 --cuda-graph
  grep -E '^\{' "$out/reference.log" >> "$summary"
fi
echo "gpu_run: done, $failures failed step(s); logs in $out"
[ "$failures" -eq 0 ]
