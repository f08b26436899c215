#!/usr/bin/env bash
# A run's config.resolved.toml reproduces it: same parameters, bit for bit.
# usage: config_test.sh POLYPHONY SCRATCH_DIR
set -euo pipefail
polyphony=$1 scratch=$2
rm -rf "$scratch" && mkdir -p "$scratch"
"$polyphony" train --dataset synthetic:music-small --model uiprotomf --set model.user_prototypes=12 \
  --epochs 2 --lr 0.002 --quiet --out "$scratch/first" > /dev/null
"$polyphony" train --config "$scratch/first/config.resolved.toml" --set run.out="$scratch/again" > /dev/null
a=$(grep parameters_xxh64 "$scratch/first/summary.json")
b=$(grep parameters_xxh64 "$scratch/again/summary.json")
[[ "$a" == "$b" ]] || { echo "FAILED: $a vs $b"; exit 1; }
echo "ok: config.resolved.toml reproduces the run"
