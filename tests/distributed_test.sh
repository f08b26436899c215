#!/usr/bin/env bash
# Data parallelism on c10d with Gloo: two CPU processes on loopback, launched the way torchrun
# launches them (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), must keep identical
# parameters and match one process training with the same global batch.
# usage: distributed_test.sh POLYPHONY PYTHON SCRATCH_DIR [TRAIN_OPTION...]
# Extra options go to every `train` (the GPU run adds --device cuda, with POLYPHONY_DIST_BACKEND
# to pick the backend).
set -uo pipefail
polyphony=$1
python=$2
scratch=$3
shift 3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$scratch" && mkdir -p "$scratch"
train=(train --dataset synthetic:music-small --epochs 3 --batch-size 512 --negatives 4
       --eval-every 1 --threads 1 --quiet "$@")

"$polyphony" "${train[@]}" --out "$scratch/single" > "$scratch/single.log" 2>&1 ||
  { echo "FAILED: single-process run"; tail -3 "$scratch/single.log"; exit 1; }

export MASTER_ADDR=127.0.0.1 MASTER_PORT=$((20000 + RANDOM % 20000)) WORLD_SIZE=2 GLOO_SOCKET_IFNAME=lo
RANK=0 LOCAL_RANK=0 "$polyphony" "${train[@]}" --out "$scratch/two" > "$scratch/rank0.log" 2>&1 &
first=$!
RANK=1 LOCAL_RANK=1 "$polyphony" "${train[@]}" --out "$scratch/two" > "$scratch/rank1.log" 2>&1
second=$?
wait $first
status=$?
[[ $status == 0 && $second == 0 ]] ||
  { echo "FAILED: ranks exited with $status and $second"; tail -3 "$scratch"/rank*.log; exit 1; }
grep -q "data parallel: 2 processes (" "$scratch/rank0.log" || { echo "FAILED: not data parallel"; exit 1; }
grep "data parallel" "$scratch/rank0.log"
grep -q '"parameters_identical_across_processes": true' "$scratch/two/summary.json" ||
  { echo "FAILED: the ranks' parameters differ"; exit 1; }
echo "ok: both ranks hold identical parameters"
# Only the summation order differs from one process: float tolerance.
"$python" "$here/compare_models.py" "$scratch/single/model.pt" "$scratch/two/model.pt" ||
  { echo "FAILED: two processes differ from one"; exit 1; }
# Evaluation is split across the ranks and summed: the test metrics are one process's (up to the
# float differences of the parameters; an unsummed share would be about half of them).
"$python" - "$scratch/single/metrics.json" "$scratch/two/metrics.json" <<'PYTHON' ||
import json, math, sys
one, two = (json.load(open(path))["metrics"] for path in sys.argv[1:])
bad = [k for k in one if not math.isnan(one[k]) and abs(one[k] - two[k]) > 1e-3 * (1 + abs(one[k]))]
print(f"{len(one)} test metrics compared" if not bad else f"differ: {bad[:5]}")
sys.exit(1 if bad else 0)
PYTHON
  { echo "FAILED: the two-process evaluation differs"; exit 1; }
echo "ok: two processes = one process with the same global batch"
