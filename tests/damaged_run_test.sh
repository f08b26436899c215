#!/usr/bin/env bash
# Damaged and busy runs. usage: damaged_run_test.sh POLYPHONY RUN SCRATCH
# Copies of the finished RUN with a flipped byte in model.pt, a corrupt command.json or an edited
# derived file (config.resolved.json, users.txt, items.txt) are refused by every command that
# reads them, naming the file; a second writer on a run that is training is
# refused, naming the process that holds it. Each refusal leaves the run as it was
# (tests/expect_refusal.sh checks it).
set -uo pipefail
cli=$1
run=$2
scratch=$3
refusal="bash $(dirname "$0")/expect_refusal.sh"
rm -rf "$scratch"
mkdir -p "$scratch"
failures=0
expect() {
  echo "-- $*"
  $refusal "$@" || failures=$((failures + 1))
}

# One byte of model.pt flipped: its checksum no longer matches.
flipped=$scratch/flipped
cp -r "$run" "$flipped"
offset=$(($(stat -c %s "$flipped/model.pt") / 2))
byte=$(od -An -tu1 -j "$offset" -N 1 "$flipped/model.pt" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 0x5a)))" |
  dd of="$flipped/model.pt" bs=1 seek="$offset" count=1 conv=notrunc status=none
user=$(head -n 1 "$flipped/users.txt")
damaged="model file .*flipped/model.pt is damaged: its xxh64 is [0-9a-f]{16}, model.pt.xxh64 says"
expect "$damaged" "$cli" eval "$flipped"
expect "$damaged" "$cli" recommend "$flipped" --users "$user"
expect "$damaged" "$cli" export "$flipped" --out "$scratch/flipped.pt"
expect "$damaged" "$cli" analyze "$flipped" --out "$scratch/flipped-analysis"

# command.json cut short, or with arguments that are not a list.
for text in '{"argu' '{"arguments": 5}'; do
  corrupt=$scratch/corrupt
  rm -rf "$corrupt"
  cp -r "$run" "$corrupt"
  printf '%s' "$text" >"$corrupt/command.json"
  expect "corrupt/command.json is corrupt" "$cli" eval "$corrupt"
  expect "corrupt/command.json is corrupt" "$cli" train --resume "$corrupt"
done

# Derived files edited: config.resolved.json, users.txt and items.txt are written from
# command.json's data and model, and must agree with them (docs/training.md).
edited=$scratch/edited
copy_run() { rm -rf "$edited" && cp -r "$run" "$edited"; }
copy_run
sed -i 's/"dim": 64/"dim": 16/' "$edited/config.resolved.json"
expect "edited/config.resolved.json differs from the configuration the run's command.json gives, in model/config/dim \\(16 → 64\\)" \
  "$cli" eval "$edited"
copy_run
head -n 100 "$run/items.txt" >"$edited/items.txt"
expect "edited/items.txt: 100 ids, where the run's data has [0-9]+" "$cli" recommend "$edited" --users "$user"
copy_run
sed -i '2s/.*/'"$(head -n 1 "$run/items.txt")"'/' "$edited/items.txt"
expect "edited/items.txt:2: '.*', where the run's data has" "$cli" export "$edited" --out "$scratch/edited.pt"
copy_run
sed -i '1d' "$edited/users.txt"
expect "edited/users.txt:1: " "$cli" eval "$edited"

# A second writer while a run trains. The run is named relative to SCRATCH (no slash), so the
# refusal check leaves alone a folder the first process is busy writing.
cd "$scratch"
"$cli" train --dataset synthetic:music-small --epochs 100000 --eval-every 0 --out busy --quiet \
  >busy.log 2>&1 &
pid=$!
for _ in $(seq 600); do
  [ "$(cat busy/run.lock 2>/dev/null)" = "$pid" ] && break
  sleep 0.1
done
expect "run busy is in use by process $pid \\(one process writes a run at a time\\)" \
  "$cli" train --resume busy
expect "run busy is in use by process $pid|busy already holds a run" \
  "$cli" train --dataset synthetic:music-small --epochs 1 --out busy
kill -TERM "$pid"
wait "$pid"
status=$?
if [ "$status" -ne 75 ]; then
  echo "the first writer, stopped by SIGTERM, exited $status (expected 75)"
  failures=$((failures + 1))
fi
if ! grep -q '"resumes": \[\]' busy/command.json; then
  echo "the refused resume was recorded in busy/command.json"
  failures=$((failures + 1))
fi

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
