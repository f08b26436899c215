#!/usr/bin/env bash
# polyphony sweep and report end to end, on small data. usage: sweep_test.sh POLYPHONY SCRATCH
# A sweep of 2 variants × 2 seeds trains with --jobs 2 into ordinary run directories, is skipped
# when run again, refuses a changed sweep file, retries a killed point from its checkpoint,
# stops on SIGTERM with checkpoints and resumes the stopped points when run again, and
# its report's numbers agree with the runs' own metrics.json and metrics.users.tsv
# (check_sweep_report.py); the Slurm array script is written and one of its tasks runs here.
# With --tensorboard every point writes its TensorBoard files, its point group as hparams group.
# usage: sweep_test.sh POLYPHONY SCRATCH PYTHON (PYTHON: one with the tensorboard package)
set -uo pipefail
cli=$1
scratch=$2
python=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$scratch"
mkdir -p "$scratch"
failures=0
check() {  # check DESCRIPTION COMMAND...: the command must succeed
  if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; failures=$((failures + 1)); fi
}
write_sweep() {  # write_sweep FILE EPOCHS
  cat >"$1" <<TOML
# Two variants of MF over two seeds, on small data.
[sweep]
base = "$here/../configs/mf-bpr.toml"
seeds = [1, 2]
baseline = "MF"

[set]
data.dataset = "synthetic:music-small,users=400,items=300,interactions=8000"
train.epochs = $2
model.dim = 16

[variants.MF]
model.name = "mf"

[variants."MF+ReSN"]
model.resn = 0.5
TOML
}
small_sweep() {  # small_sweep FILE SEEDS [SETTING...]: MF on small data, one variant
  {
    printf '[sweep]\nbase = "%s"\nseeds = %s\n[set]\n' "$here/../configs/mf-bpr.toml" "$2"
    printf 'data.dataset = "synthetic:music-small,users=400,items=300,interactions=8000"\n'
    printf '%s\n' "${@:3}"
  } >"$1"
}
sweep_file=$scratch/study.toml
out=$scratch/out
write_sweep "$sweep_file" 3

"$cli" sweep "$sweep_file" --out "$out" --jobs 2 --tensorboard >"$scratch/first.log" 2>&1
check "the sweep trains every point (exit 0)" test $? -eq 0
for point in "variant=MF,seed=1" "variant=MF+ReSN,seed=2"; do
  check "TensorBoard files of $point, grouped by ${point%,seed=*}" "$python" \
    "$here/check_tensorboard.py" "$out/points/$point" --group "${point%,seed=*}"
done
check "four finished run directories" test "$(ls "$out"/points/*/summary.json | wc -l)" -eq 4
check "per-user metrics in every point" test "$(ls "$out"/points/*/metrics.users.tsv | wc -l)" -eq 4
check "readable point ids" test -f "$out/points/variant=MF+ReSN,seed=2/metrics.json"
"$cli" sweep "$sweep_file" --out "$out" >"$scratch/again.log" 2>&1
check "run again (without --tensorboard), nothing is trained" grep -q "4 finished, 0 to train" "$scratch/again.log"
"$cli" sweep "$sweep_file" --out "$out" --status >"$scratch/status.log" 2>&1
check "--status counts the points" grep -q "4 points: 4 finished" "$scratch/status.log"

# A changed sweep file would change finished points: refused, naming the point and the option.
write_sweep "$scratch/changed.toml" 4
cp "$scratch/changed.toml" "$sweep_file.new" && mv "$sweep_file.new" "$sweep_file"
"$cli" sweep "$sweep_file" --out "$out" >"$scratch/changed.log" 2>&1
status=$?
check "a changed sweep file is refused (exit 2)" test $status -eq 2
check "the refusal names the point and the option" \
  grep -q "changes sweep point variant=MF,seed=1.*--epochs ran with '3', the sweep now says '4'" \
  "$scratch/changed.log"
write_sweep "$sweep_file" 3

# The report: tables, significance and charts, numbers checked against the runs.
"$cli" report "$out" >"$scratch/report.log" 2>&1
check "report succeeds" test $? -eq 0
for f in report.md report.json report.tsv pareto_NDCG_10_vs_ARP_10.png; do
  check "report wrote $f" test -s "$out/report/$f"
done
check "the report's numbers agree with the runs" python3 "$here/check_sweep_report.py" "$out"

# A point killed mid-training fails; --retry-failed resumes it from its checkpoint.
killed=$scratch/killed
small_sweep "$scratch/killed.toml" 1 "train.epochs = 4" "train.checkpoint_every_steps = 1"
POLYPHONY_KILL_AT_STEP=3 "$cli" sweep "$scratch/killed.toml" --out "$killed" >"$scratch/killed.log" 2>&1
check "a killed point fails the sweep (exit 1)" test $? -eq 1
check "the failure is recorded with its signal" grep -q "killed by signal 9" "$killed/failed/seed=1.json"
"$cli" sweep "$scratch/killed.toml" --out "$killed" >"$scratch/not-retried.log" 2>&1
check "without --retry-failed it stays failed (exit 1)" test $? -eq 1
"$cli" sweep "$scratch/killed.toml" --out "$killed" --retry-failed >"$scratch/retried.log" 2>&1
check "--retry-failed finishes it (exit 0)" test $? -eq 0
check "by resuming from the checkpoint" grep -q "resuming from" "$killed/logs/seed=1.log"
check "the failure record is gone" test ! -e "$killed/failed/seed=1.json"

# SIGTERM stops the running points with a checkpoint (exit 75); the next sweep resumes them.
stopped=$scratch/stopped
small_sweep "$scratch/stopped.toml" 2 "train.epochs = 400" "train.eval_every = 400"
"$cli" sweep "$scratch/stopped.toml" --out "$stopped" --jobs 2 >"$scratch/stopped.log" 2>&1 &
sweep_pid=$!
both_trained() {  # each point has trained a few epochs (so each has a checkpoint)
  for point in seed=1 seed=2; do
    [ "$(cat "$stopped/points/$point/metrics.jsonl" 2>/dev/null | wc -l)" -ge 3 ] || return 1
  done
}
for _ in $(seq 600); do  # at most 60 s
  both_trained && break
  sleep 0.1
done
kill -TERM "$sweep_pid"
wait "$sweep_pid"
check "SIGTERM stops the sweep with exit 75" test $? -eq 75
"$cli" sweep "$scratch/stopped.toml" --out "$stopped" --status >"$scratch/stopped-status.log" 2>&1
check "both points are interrupted, not failed" grep -q "2 points: 0 finished, 0 running, 2 interrupted, 0 failed" \
  "$scratch/stopped-status.log"
"$cli" sweep "$scratch/stopped.toml" --out "$stopped" --jobs 2 >"$scratch/resumed.log" 2>&1
check "the next sweep finishes them (exit 0)" test $? -eq 0
check "by resuming both" test "$(grep -c "^sweep: resuming" "$scratch/resumed.log")" -eq 2
# SIGTERM while the points are still starting (before they can catch it): stopped, not failed.
early=$scratch/early
"$cli" sweep "$scratch/stopped.toml" --out "$early" --jobs 2 >"$scratch/early.log" 2>&1 &
sweep_pid=$!
for _ in $(seq 600); do  # until the sweep has started its points (at most 60 s)
  [ "$(grep -c "^sweep: training" "$scratch/early.log")" -ge 2 ] && break
  sleep 0.05
done
kill -TERM "$sweep_pid"
wait "$sweep_pid"
check "SIGTERM at the start: exit 75" test $? -eq 75
check "  ... and no point recorded as failed" test ! -e "$early/failed"/*.json

# Slurm: the array script, and one task of it run here.
slurm=$scratch/slurm
"$cli" sweep "$sweep_file" --out "$slurm" --emit slurm --slurm-gres gpu:1 --slurm-max-parallel 2 \
  >"$scratch/emit.log" 2>&1
check "--emit slurm writes the script" test -x "$slurm/sweep.sbatch"
check "one array task per point" grep -q "^#SBATCH --array=0-3%2$" "$slurm/sweep.sbatch"
check "the GPU request" grep -q "^#SBATCH --gres=gpu:1$" "$slurm/sweep.sbatch"
SLURM_ARRAY_TASK_ID=2 SLURM_CPUS_PER_TASK=1 bash "$slurm/sweep.sbatch" >"$scratch/task.log" 2>&1
check "array task 2 runs (exit 0)" test $? -eq 0
check "and trains point 2 alone" test "$(ls "$slurm"/points/*/summary.json | wc -l)" -eq 1
check "point 2 is variant=MF+ReSN,seed=1" test -f "$slurm/points/variant=MF+ReSN,seed=1/summary.json"
"$cli" report "$out" --compare "$slurm" --out "$scratch/compared" --no-plots --baseline MF+ReSN \
  >"$scratch/compare.log" 2>&1
check "report --compare puts the sweeps side by side" grep -q "^## Compared with $slurm" \
  "$scratch/compared/report.md"
check "--baseline names another variant" grep -q "^| variant=MF | variant=MF+ReSN | NDCG@10 |" \
  "$scratch/compared/report.md"
"$cli" sweep "$sweep_file" --out "$slurm" --task 0 --set eval.eval_memory_mb=256 \
  >"$scratch/changed-task.log" 2>&1
check "a task of a changed sweep is refused (exit 2)" test $? -eq 2
check "naming the plan it no longer matches" grep -q "changed since .*sweep.json was written" \
  "$scratch/changed-task.log"
# A value that would put a line of its own into the script: refused, nothing written.
"$cli" sweep "$sweep_file" --out "$scratch/injected" --emit slurm \
  --slurm-partition $'gpu\ntouch PWNED' >"$scratch/injected.log" 2>&1
check "a newline in --slurm-partition is refused (exit 2)" test $? -eq 2
check "  ... naming the option" grep -q "error: --slurm-partition 'gpu.ntouch PWNED': a control character" \
  "$scratch/injected.log"
check "  ... and nothing is written" test ! -e "$scratch/injected/sweep.sbatch"
"$cli" sweep "$sweep_file" --out "$scratch/injected" --emit slurm --slurm-option '--mem=32G;id' \
  >"$scratch/injected.log" 2>&1
check "an #SBATCH value outside the option's syntax is refused (exit 2)" test $? -eq 2
bash "$slurm/sweep.sbatch" >"$scratch/no-task.log" 2>&1
check "outside Slurm without a task id the script refuses" grep -q "SLURM_ARRAY_TASK_ID" "$scratch/no-task.log"

# The finished points under other item groups, without training again: an artist -> country
# file (five countries in turn; an artist of two countries, and one without a line).
attributes=$scratch/countries.tsv
{
  printf 'artist\tcountry\n'
  countries=(US GB BR NL PL)
  for i in $(seq 0 298); do printf 'artist-%06d\t%s\n' "$i" "${countries[$((i % 5))]}"; done
  printf 'artist-000299\tUS|BR\n'
} > "$attributes"
groups='attribute:country=US,GB/BR,NL,PL'
"$cli" report "$out" --item-groups "$groups" --item-attributes "$attributes" --jobs 2 \
  --out "$scratch/regrouped" --no-plots > "$scratch/regrouped.log" 2>&1
check "report --item-groups evaluates the finished points again (exit 0)" test $? -eq 0
check "  every point" grep -q "^report: evaluating 4 points under the item groups $groups" "$scratch/regrouped.log"
check "  the report says so" grep -q "^\*\*Regrouped:\*\* item-group metrics recomputed under" \
  "$scratch/regrouped/report.md"
check "  its columns are the new groups'" grep -q "| Exposure@10\[US+GB\] | Exposure@10\[BR+NL+PL\] |" \
  "$scratch/regrouped/report.md"
point=$out/points/variant=MF,seed=1
regrouped=$(ls "$point"/regrouped/*/metrics.json)
"$cli" eval "$point" --item-groups "$groups" --item-attributes "$attributes" --json \
  > "$scratch/eval-regrouped.json" 2> /dev/null
check "  a point's figures are those eval gives" "$python" - "$regrouped" "$scratch/eval-regrouped.json" << 'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["metrics"] == b["metrics"], (a["metrics"], b["metrics"])
assert a["item_groups"] == b["item_groups"], (a["item_groups"], b["item_groups"])
assert a["item_groups"]["names"][:2] == ["US+GB", "BR+NL+PL"], a["item_groups"]["names"]
PY
"$cli" report "$out" --item-groups "$groups" --item-attributes "$attributes" --out "$scratch/regrouped" \
  --no-plots > "$scratch/regrouped-again.log" 2>&1
check "a second report reuses the evaluations" bash -c "! grep -q '^report: evaluating' '$scratch/regrouped-again.log'"
printf 'artist-000000\tBR\n' >> "$attributes"
"$cli" report "$out" --item-groups "$groups" --item-attributes "$attributes" --out "$scratch/regrouped" \
  --no-plots > "$scratch/regrouped-changed.log" 2>&1
check "a changed attribute file is evaluated anew" grep -q "^report: evaluating 4 points" "$scratch/regrouped-changed.log"
"$cli" report "$out" --item-attributes "$attributes" > "$scratch/regrouped-bad.log" 2>&1
check "--item-attributes alone is refused (exit 2)" test $? -eq 2

echo "$failures failure(s)"
exit $((failures > 0))
