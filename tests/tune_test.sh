#!/usr/bin/env bash
# polyphony tune end to end, with the project venv's Optuna, on small data:
# - one objective (TPE, median pruning) with two workers: every trial ends in trial.json as
#   Optuna's storage has it (check_tune.py reads the storage with Optuna itself and the runs'
#   validation curves), optuna-dashboard opens the journal file, the best trial is trained again
#   over the final seeds, and `polyphony report` reads the directory;
# - resumption: a worker killed with -9 in the middle of a trial (its run too) leaves the trial
#   running in the storage; the next `polyphony tune` adopts it and resumes its run from its
#   checkpoint; a trial whose worker died before writing its record is adopted as well; SIGTERM
#   stops the workers with checkpoints (exit 75);
# - two objectives (NSGA-II) in an SQLite database: the Pareto front in the report and its chart,
#   every front trial trained again;
# - refusals: a changed study, pruning with two objectives, a Python without Optuna.
# usage: tune_test.sh POLYPHONY SCRATCH PYTHON (PYTHON: the venv's, with optuna and
# optuna-dashboard)
set -uo pipefail
polyphony=$1
scratch=$2
python=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$scratch" && mkdir -p "$scratch"
source "$here/checks.sh"
export POLYPHONY_PYTHON=$python
no_sanitizer_reports() {  # what the workers and their runs printed
  ! grep -rlE 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|: runtime error: ' "$1/logs"
}
# write_study FILE TRIALS EPOCHS OBJECTIVES [LINE...]: MF on small data; LINEs go into [tune],
# "set: LINE" into [set].
write_study() {
  {
    printf '[tune]\nbase = "%s"\ntrials = %s\n' "$here/../configs/mf-bpr.toml" "$2"
    printf 'objectives = %s\npruner_startup_trials = 2\nfinal_seeds = 2\n' "$4"
    for line in "${@:5}"; do [[ $line == set:* ]] || printf '%s\n' "$line"; done
    printf '[set]\n'
    [[ " ${*:5}" == *"set: data.dataset"* ]] ||
      printf 'data.dataset = "synthetic:music-small,users=300,items=200,interactions=6000"\n'
    printf 'train.epochs = %s\ntrain.eval_every = 1\nmodel.dim = 16\n' "$3"
    for line in "${@:5}"; do [[ $line == set:* ]] && printf '%s\n' "${line#set: }"; done
    printf '[space]\ntrain.lr = { low = 0.001, high = 0.3, log = true }\n'
    printf 'model.resn = { choices = ["~", "0.5"] }\n'
  } > "$1"
}

# One objective, two workers.
write_study "$scratch/single.toml" 6 4 '["NDCG@10"]' "final_baseline = \"$here/../configs/mf-bpr.toml\""
out=$scratch/single
check "tune --jobs 2 (exit 0)" expect_status 0 "$polyphony" tune "$scratch/single.toml" --out "$out" --jobs 2
check "  the chosen trial is trained over the final seeds" log_has "tune: done"
check "  six trial records" test "$(ls "$out"/trials/*/trial.json | wc -l)" -eq 6
check "  two final runs, and two of the baseline" test "$(ls "$out"/final/points/*/summary.json | wc -l)" -eq 4
check "  Optuna's storage, the records and the runs agree; optuna-dashboard opens the journal" \
  "$python" "$here/check_tune.py" "$out" --trials 6 --dashboard
check "  no sanitizer report in the workers' logs" no_sanitizer_reports "$out"
check "--status lists the trials" expect_status 0 "$polyphony" tune "$scratch/single.toml" --out "$out" --status
check "  ... with their counts" log_has "6 of 6 trials"
check "run again: nothing left to search, the final runs are there" \
  expect_status 0 "$polyphony" tune "$scratch/single.toml" --out "$out"
check "  ... and nothing is trained again" log_has "4 finished, 0 to train"
check "report reads the tune directory" expect_status 0 "$polyphony" report "$out"
check "  the trials table with the best trial marked" log_has "| [0-9]* ★ | complete |"
check "  the final runs' test metrics over seeds" log_has "| 2/2 | "
check "  paired tests of the chosen trial against the final baseline" log_has "| trial=[0-9]* | baseline | NDCG@10 | "
check "  the search chart" test -s "$out/report/tune_trials.png"

# Pruning, made certain: after a complete trial at a good learning rate, a trial at a hopeless one
# is below the median of the complete trials from its first epochs, and stopped there.
cat > "$scratch/prune.toml" <<TOML
[tune]
base = "$here/../configs/mf-bpr.toml"
trials = 6
objectives = ["NDCG@10"]
sampler = "random"
sampler_seed = 0
pruner_startup_trials = 1
final_seeds = 1
[set]
data.dataset = "synthetic:music-small,users=300,items=200,interactions=6000"
train.epochs = 30
train.eval_every = 1
[space]
train.lr = { choices = [0.3, 0.00001] }
TOML
out=$scratch/prune
check "a study that prunes (exit 0)" expect_status 0 "$polyphony" tune "$scratch/prune.toml" --out "$out"
check "  trials at the hopeless rate after a complete one are pruned, none at the good one" \
  "$python" - "$out" <<'PY'
import glob, json, sys
trials = sorted((json.load(open(f)) for f in glob.glob(sys.argv[1] + "/trials/*/trial.json")),
                key=lambda t: t["number"])
first_good = min(t["number"] for t in trials if t["values"]["train.lr"] == "0.3")
pruned = [t["number"] for t in trials if t["state"] == "pruned"]
hopeless = [t["number"] for t in trials if t["values"]["train.lr"] == "1e-05" and t["number"] > first_good]
assert hopeless and pruned == hopeless, (pruned, hopeless)
assert all(t["last_epoch"] < 30 for t in trials if t["state"] == "pruned"), trials
PY
check "  the pruned curves are those the runs wrote" "$python" "$here/check_tune.py" "$out" --trials 6

# A changed study is refused; so is pruning with two objectives, and a Python without Optuna.
write_study "$scratch/single.toml" 6 5 '["NDCG@10"]' "final_baseline = \"$here/../configs/mf-bpr.toml\""
check "a changed study is refused (exit 2)" expect_status 2 "$polyphony" tune "$scratch/single.toml" --out "$scratch/single"
check "  naming what changed" log_has "(settings: "
write_study "$scratch/pruned2.toml" 2 2 '["NDCG@10", "ARP@10"]'
check "pruning two objectives is refused (exit 2)" expect_status 2 "$polyphony" tune "$scratch/pruned2.toml" --out "$scratch/p2"
check "  saying why" log_has "prunes single-objective studies only"
write_study "$scratch/nopython.toml" 2 2 '["NDCG@10"]'
check "a Python without Optuna (exit 2)" expect_status 2 "$polyphony" tune "$scratch/nopython.toml" --out "$scratch/nopython" --python /usr/bin/python3 --worker 0
check "  says how to install it" log_has "cannot import optuna in /usr/bin/python3"

# Resumption. A trial of two epochs of 2500 steps, a checkpoint every 100 steps; worker 0 is
# killed with -9, and its run with it, once the run has a checkpoint.
write_study "$scratch/resume.toml" 1 2 '["NDCG@10"]' 'pruner = "none"' \
  "set: train.checkpoint_every_steps = 100" "set: train.batch_size = 64" \
  'set: data.dataset = "synthetic:music-small,users=2000,items=1000,interactions=200000"'
out=$scratch/resume
"$polyphony" tune "$scratch/resume.toml" --out "$out" --worker 0 > "$scratch/killed.log" 2>&1 &
worker=$!
for _ in $(seq 600); do
  ls "$out"/trials/0/seed=*/checkpoints/step-*.ckpt > /dev/null 2>&1 && break
  sleep 0.05
done
pkill -9 -P "$worker"
kill -9 "$worker"
wait "$worker" 2> /dev/null
check "trial 0 was left running with a checkpoint" grep -q '"state": "running"' "$out/trials/0/trial.json"
check "the next tune adopts it (exit 0)" expect_status 0 "$polyphony" tune "$scratch/resume.toml" --out "$out" --no-final
check "  its run resumed from the checkpoint" grep -q "resuming from" "$out"/logs/trial=0,seed=*.log
check "  the worker said so" grep -q "adopting trial 0" "$out/logs/worker-0.log"
check "  one trial in all, as the storage has it" "$python" "$here/check_tune.py" "$out" --trials 1

# A trial that Optuna gave a worker which died before writing its record (no trial.json, no
# claim): adopted too, with the values Optuna gave it. A study of one trial, then of two, the
# second asked here as that worker would have.
write_study "$scratch/orphan.toml" 1 2 '["NDCG@10"]' 'pruner = "none"'
out=$scratch/orphan
check "a study of one trial (exit 0)" expect_status 0 "$polyphony" tune "$scratch/orphan.toml" --out "$out" --no-final
sed -i 's/^trials = 1$/trials = 2/' "$scratch/orphan.toml"
asked=$("$python" - "$out" <<'PY'
import json, sys
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
tune = json.load(open(sys.argv[1] + "/tune.json"))
study = optuna.load_study(study_name=tune["study"],
                          storage=JournalStorage(JournalFileBackend(tune["storage"])))
trial = study.ask({"train.lr": FloatDistribution(0.001, 0.3, log=True),
                   "model.resn": CategoricalDistribution(["~", "0.5"])})
print(trial.number)
PY
)
check "trial 1 asked and left without a record" test "$asked" = 1 -a ! -e "$out/trials/1/trial.json"
check "the next tune adopts it (exit 0)" expect_status 0 "$polyphony" tune "$scratch/orphan.toml" --out "$out" --no-final
check "  the worker said so" grep -q "adopting trial 1" "$out/logs/worker-0.log"
check "  two trials in all, as the storage has them" "$python" "$here/check_tune.py" "$out" --trials 2

# SIGTERM: the workers stop their runs with checkpoints; exit 75; the next tune finishes.
write_study "$scratch/stop.toml" 1 2 '["NDCG@10"]' 'pruner = "none"' \
  "set: train.checkpoint_every_steps = 100" "set: train.batch_size = 64" \
  'set: data.dataset = "synthetic:music-small,users=2000,items=1000,interactions=200000"'
out=$scratch/stop
"$polyphony" tune "$scratch/stop.toml" --out "$out" --no-final > "$scratch/stopped.log" 2>&1 &
tuner=$!
for _ in $(seq 600); do
  ls "$out"/trials/0/seed=*/checkpoints/step-*.ckpt > /dev/null 2>&1 && break
  sleep 0.05
done
kill -TERM "$tuner"
wait "$tuner"
check "SIGTERM stops the tune (exit 75)" test $? -eq 75
check "the next tune finishes the study (exit 0)" expect_status 0 "$polyphony" tune "$scratch/stop.toml" --out "$out" --no-final
check "  as the storage has it" "$python" "$here/check_tune.py" "$out" --trials 1

# The binary replaced while a study runs (a rebuild): the final runs still start, with the binary
# that runs the study (/proc/self/exe).
copy=$scratch/polyphony-copy
cp "$polyphony" "$copy"
write_study "$scratch/replaced.toml" 3 4 '["NDCG@10"]' 'pruner = "none"' 'final_seeds = [1]'
sed -i '0,/^final_seeds = 2$/{/^final_seeds = 2$/d}' "$scratch/replaced.toml"
"$copy" tune "$scratch/replaced.toml" --out "$scratch/replaced" > "$scratch/replaced.log" 2>&1 &
tuner=$!
for _ in $(seq 600); do
  [[ -e $scratch/replaced/trials/0/trial.json ]] && break
  sleep 0.05
done
cp "$copy" "$copy.new" && mv "$copy.new" "$copy"
wait "$tuner"
check "a study whose binary was replaced while it ran finishes (exit 0)" test $? -eq 0
check "  with its final run" test -e "$scratch/replaced/final/points/trial="*",seed=1/summary.json"

# Two objectives, NSGA-II, an SQLite database as the storage.
write_study "$scratch/pareto.toml" 6 3 '["NDCG@10", "ARP@10"]' 'pruner = "none"' 'sampler = "nsga2"'
out=$scratch/pareto
check "a two-objective study in SQLite (exit 0)" expect_status 0 "$polyphony" tune "$scratch/pareto.toml" \
  --out "$out" --jobs 2 --storage "sqlite:///$scratch/pareto.db"
check "  Optuna's storage, the records and the runs agree" "$python" "$here/check_tune.py" "$out" --trials 6
check "  the report marks the front" expect_status 0 "$polyphony" report "$out"
check "  ... and charts it" test -s "$out/report/tune_trials.png"
check "  every front trial is trained again" "$python" - "$out" <<'PY'
import json, sys
report = json.load(open(sys.argv[1] + "/report/report.json"))
front = sorted(t["number"] for t in report["trials"] if t["front"])
plan = json.load(open(sys.argv[1] + "/final/sweep.json"))
final = sorted({int(p["group"].split("=")[1]) for p in plan["points"]})
assert front and front == final == sorted(report["chosen"]), (front, final, report["chosen"])
PY

echo "tune_test: $failures failure(s)"
exit $((failures > 0))
