#!/usr/bin/env bash
# Crash safety of `polyphony train`, as a user meets it: a run SIGKILLed at several points and
# resumed each time ends bit-identical to an uninterrupted one; SIGTERM stops with a checkpoint
# and exit status 75; damaged checkpoints are passed over; incompatible resumes are refused.
# usage: resume_test.sh POLYPHONY SCRATCH_DIR
set -uo pipefail
polyphony=$1
scratch=$2
rm -rf "$scratch" && mkdir -p "$scratch"
source "$(dirname "$0")/checks.sh"
# metrics.jsonl without the timing and memory fields, which differ from run to run.
epoch_log() { sed -E 's/"(seconds|step_seconds|interactions_per_second|peak_rss_mb)":[^,}]*,?//g' "$1/metrics.jsonl"; }
same_run() {
  cmp -s "$1/metrics.json" "$2/metrics.json" || { echo "  metrics.json differ"; return 1; }
  [[ "$(grep parameters_xxh64 "$1/summary.json")" == "$(grep parameters_xxh64 "$2/summary.json")" ]] ||
    { echo "  parameters differ"; return 1; }
  diff <(epoch_log "$1") <(epoch_log "$2") > /dev/null || { echo "  metrics.jsonl differ"; return 1; }
}

train=(train --dataset synthetic:music-small --epochs 3 --eval-every 1 --batch-size 256
       --checkpoint-every-steps 25 --resn 0.1 --quiet)
check "uninterrupted reference run" expect_status 0 "$polyphony" "${train[@]}" --out "$scratch/whole"

# Killed after step 40 (15 steps after a checkpoint: replayed), after step 130 (another epoch),
# then at an arbitrary moment from outside, then resumed to the end.
run=$scratch/killed
check "SIGKILL at step 40" expect_status 137 env POLYPHONY_KILL_AT_STEP=40 "$polyphony" "${train[@]}" --out "$run"
check "SIGKILL at step 130 after resuming" \
  expect_status 137 env POLYPHONY_KILL_AT_STEP=130 "$polyphony" train --resume "$run"
"$polyphony" train --resume "$run" > /dev/null 2>&1 &
sleep 0.$((RANDOM % 9 + 1))
kill -9 $! 2> /dev/null
wait $! 2> /dev/null
check "resumed to the end" expect_status 0 "$polyphony" train --resume "$run"
check "  ... from a checkpoint" log_has "resuming from $run/checkpoints/step-"
check "killed three times and resumed = uninterrupted (parameters, metrics, epoch log)" \
  same_run "$scratch/whole" "$run"

# A damaged newest checkpoint is reported and passed over.
newest=$(ls "$run"/checkpoints/step-*.ckpt | sort | tail -1)
head -c 1000 "$newest" > "$newest.cut" && mv "$newest.cut" "$newest"
check "damaged checkpoint passed over" expect_status 0 "$polyphony" train --resume "$run"
check "  ... with a message naming it" log_has "skipping a damaged checkpoint: checkpoint $newest is truncated"

# A resume with fewer epochs than were trained is refused and leaves the config as it was (it
# would no longer describe the model); every resume is kept in command.json's history.
cp "$run/config.resolved.toml" "$scratch/config.before"
check "resume with fewer epochs than trained refused" expect_status 2 "$polyphony" train --resume "$run" --epochs 2
check "  ... naming both" log_has "--epochs 2: run $run has trained 3 epochs already"
check "  ... config.resolved.toml untouched" cmp -s "$run/config.resolved.toml" "$scratch/config.before"
resumes=$(grep -o '"date"' "$run/command.json" | wc -l)
check "command.json keeps each resume ($resumes)" test "$resumes" -ge 3

# Incompatible resumes are refused, naming what differs.
check "resume with another model size refused" expect_status 2 "$polyphony" train --resume "$run" --dim 16
check "  ... naming the checkpoint and the key" log_has "would differ from checkpoint $run/checkpoints/step-.* in model/config/dim (64 → 16)"
check "resume of a missing run refused" expect_status 2 "$polyphony" train --resume "$scratch/nothing"
check "  ... naming it" log_has "no such run directory"
"$polyphony" datagen --dataset synthetic:music-small,users=150 --format movielens --out "$scratch/ml" > /dev/null
ml=(train --dataset "movielens:$scratch/ml" --no-cache --epochs 1 --quiet)
check "run on files" expect_status 0 "$polyphony" "${ml[@]}" --out "$scratch/files"
echo "1::1::5::978300760" >> "$scratch/ml/ratings.dat"
check "resume after the data changed refused" expect_status 2 "$polyphony" train --resume "$scratch/files"
check "  ... naming the fingerprint" log_has "data/split/fingerprint"

# SIGTERM (what a scheduler sends before preemption): checkpoint, exit status 75, resumable.
run=$scratch/preempted
"$polyphony" train --dataset synthetic:music-small --epochs 500 --eval-every 0 --out "$run" \
  > "$scratch/term.log" 2>&1 &
pid=$!
for _ in $(seq 200); do [[ -s $run/metrics.jsonl ]] && break; sleep 0.05; done
kill -TERM $pid
wait $pid
status=$?
check "SIGTERM exits with status 75" test "$status" = 75
check "  ... after writing a checkpoint" grep -q "stopped by SIGTERM .*checkpoint $run/checkpoints/step-" "$scratch/term.log"
done_epochs=$(grep -c . "$run/metrics.jsonl")
check "preempted run resumes" expect_status 0 "$polyphony" train --resume "$run" --epochs $((done_epochs + 1))

echo "$failures failure(s)"
[[ $failures == 0 ]]
