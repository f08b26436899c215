#!/usr/bin/env bash
# polyphony export: the archive, loaded by Python's torch and by a C++ program with nothing of
# Polyphony linked, recommends what `polyphony recommend` does, with the same scores.
# Exported with --faiss FAISS_OPTIONS, the FAISS indexes beside an archive, read by Python's faiss,
# recommend it too (tests/check_faiss.py), and the approximate index keeps MIN_RECALL of the exact
# index's lists.
# usage: export_test.sh POLYPHONY LOADER PYTHON RUN_DIR SCRATCH_DIR [FAISS_OPTIONS MIN_RECALL]
set -euo pipefail
polyphony=$1 loader=$2 python=$3 run=$4 scratch=$5 faiss_options=${6:-hnsw} min_recall=${7:-0.95}
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
# shellcheck disable=SC2086  # the options are words
"$polyphony" export "$run" --out "$scratch/indexed.ts.pt" --faiss $faiss_options
"$python" "$here/check_faiss.py" "$scratch/indexed.ts.pt" "$scratch/top.json" "$min_recall"
