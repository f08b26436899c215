#!/usr/bin/env bash
# polyphony export: the archive, loaded by Python's torch and by a C++ program with nothing of
# Polyphony linked, recommends what `polyphony recommend` does, with the same scores.
# usage: export_test.sh POLYPHONY LOADER PYTHON RUN_DIR SCRATCH_DIR
set -euo pipefail
polyphony=$1 loader=$2 python=$3 run=$4 scratch=$5
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$scratch" && mkdir -p "$scratch"
"$polyphony" export "$run" --out "$scratch/model.ts.pt"
mapfile -t users < <(head -25 "$run/users.txt")
list=$(IFS=,; echo "${users[*]}")
"$polyphony" recommend "$run" --users "$list" -k 10 --format json --out "$scratch/top.json"
"$python" "$here/check_export.py" "$scratch/model.ts.pt" "$scratch/top.json"
"$polyphony" recommend "$run" --users "$list" -k 10 | cut -d, -f1-3 > "$scratch/expected.csv"
"$loader" "$scratch/model.ts.pt" 10 "${users[@]}" > "$scratch/loaded.csv"
diff "$scratch/expected.csv" "$scratch/loaded.csv"
echo "ok: torch::jit::load in C++ recommends what polyphony recommend does"
