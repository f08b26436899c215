#!/usr/bin/env bash
# benchmarks/torch_reference_loop.py, the hand-written PyTorch loop the benchmarks compare with,
# runs on data written by `polyphony datagen` for both of its models.
# usage: torch_reference_loop_test.sh POLYPHONY PYTHON SCRATCH_DIR
set -euo pipefail
polyphony=$1 python=$2 scratch=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$scratch" && mkdir -p "$scratch"
"$polyphony" datagen --dataset synthetic:music-small --format movielens --out "$scratch/data"
for model in mf uiprotomf; do
  "$python" "$here/../benchmarks/torch_reference_loop.py" --ratings "$scratch/data/ratings.dat" \
    --model "$model" --batch-size 256 --negatives 4 --loss softmax --max-steps 3 --warmup-steps 1 \
    --threads 1 | tee "$scratch/$model.json"
  grep -q "\"model\": \"$model\".*\"interactions_per_second\": [0-9]" "$scratch/$model.json"
done
# --cuda-graph captures the step on CUDA and is refused elsewhere.
if "$python" "$here/../benchmarks/torch_reference_loop.py" --ratings "$scratch/data/ratings.dat" \
  --cuda-graph 2>"$scratch/refused.txt" >/dev/null; then
  echo "--cuda-graph on the CPU was accepted"
  exit 1
fi
grep -q "needs a CUDA --device" "$scratch/refused.txt"
if "$python" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  for model in mf uiprotomf; do
    "$python" "$here/../benchmarks/torch_reference_loop.py" --ratings "$scratch/data/ratings.dat" \
      --model "$model" --batch-size 256 --negatives 4 --loss softmax --max-steps 3 \
      --warmup-steps 1 --device cuda --cuda-graph | tee "$scratch/$model-graph.json"
    grep -q '"cuda_graph": true.*"interactions_per_second": [0-9]' "$scratch/$model-graph.json"
  done
else
  echo "no CUDA device: the captured loop is not run here"
fi
echo "ok: the reference loop trained and evaluated both models"
