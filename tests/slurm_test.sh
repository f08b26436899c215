#!/usr/bin/env bash
# Sweeps and tune studies on a real Slurm: a one-node cluster on this machine (munged, slurmctld
# and slurmd from Debian's packages, started here with a generated slurm.conf and munge key, and
# stopped at the end), to which the scripts `--emit slurm` writes are submitted with sbatch.
# - A sweep's array: one task is cancelled (scancel) while it trains and requeued; it resumes its
#   point from the checkpoint, every point's run directory is complete, and report reads them.
# - A tune study: two workers as an array and the final job after it (--dependency=afterany)
#   share one study: Optuna's storage, the records and the runs agree, the chosen trial is
#   trained over the final seeds, and report reads the directory.
# usage: slurm_test.sh POLYPHONY SCRATCH PYTHON. Exits 77 (skipped) without root or Slurm.
set -uo pipefail
polyphony=$(realpath "$1")
scratch=$2
python=$3
here=$(cd "$(dirname "$0")" && pwd)
for program in munged slurmctld slurmd sbatch scontrol squeue scancel; do
  command -v "$program" > /dev/null || { echo "SKIPPED: $program is not installed (Debian: slurmctld slurmd slurm-client munge)"; exit 77; }
done
[[ $(id -u) == 0 ]] || { echo "SKIPPED: slurmd runs jobs as root here; run the tests as root"; exit 77; }
rm -rf "$scratch" && mkdir -p "$scratch"/{munge,state,spool,log}
scratch=$(realpath "$scratch")
source "$here/checks.sh"
export POLYPHONY_PYTHON=$python

# The cluster: one node, this machine; its own munge socket and ports, so nothing else is touched.
chmod 700 "$scratch/munge"
head -c 1024 /dev/urandom > "$scratch/munge/munge.key"
chmod 400 "$scratch/munge/munge.key"
free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
node=$(hostname -s)
cat > "$scratch/slurm.conf" << CONF
ClusterName=polyphony-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$scratch/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$scratch/state
SlurmdSpoolDir=$scratch/spool
SlurmctldPidFile=$scratch/slurmctld.pid
SlurmdPidFile=$scratch/slurmd.pid
SlurmctldLogFile=$scratch/log/slurmctld.log
SlurmdLogFile=$scratch/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobRequeue=1
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$scratch/slurm.conf
stop_cluster() {
  for pid_file in slurmd.pid slurmctld.pid munge/munged.pid; do
    [[ -f $scratch/$pid_file ]] && kill "$(cat "$scratch/$pid_file")" 2> /dev/null
  done
}
trap stop_cluster EXIT
munged --key-file="$scratch/munge/munge.key" --socket="$scratch/munge/munge.socket" \
  --pid-file="$scratch/munge/munged.pid" --log-file="$scratch/log/munged.log" \
  --seed-file="$scratch/munge/seed" --force || { echo "FAILED: munged did not start"; exit 1; }
slurmctld || { echo "FAILED: slurmctld did not start"; cat "$scratch/log/slurmctld.log"; exit 1; }
slurmd || { echo "FAILED: slurmd did not start"; cat "$scratch/log/slurmd.log"; exit 1; }
wait_until() {  # wait_until SECONDS COMMAND...: true once COMMAND succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
node_idle() { [[ $(sinfo -h -o %t 2> /dev/null) == idle ]]; }
check "the one-node cluster is up (sinfo: idle)" wait_until 60 node_idle
no_jobs_left() { [[ -z $(squeue -h 2> /dev/null) ]]; }
task_state() { squeue -h -t all -j "$1" -o %t 2> /dev/null; }

# A sweep of three points, each two epochs of 2500 steps with a checkpoint every 100 steps.
cat > "$scratch/sweep.toml" << TOML
[sweep]
base = "$here/../configs/mf-bpr.toml"
seeds = [1, 2, 3]
[set]
data.dataset = "synthetic:music-small,users=2000,items=1000,interactions=200000"
train.epochs = 2
train.eval_every = 1
train.batch_size = 64
train.checkpoint_every_steps = 100
model.dim = 16
TOML
sweep=$scratch/sweep
check "sweep --emit slurm" expect_status 0 "$polyphony" sweep "$scratch/sweep.toml" --out "$sweep" --emit slurm --slurm-cpus 1
job=$(sbatch --parsable "$sweep/sweep.sbatch")
check "sbatch takes the sweep's array ($job)" test -n "$job"
first_checkpoint() { ls "$sweep"/points/seed=1/checkpoints/step-*.ckpt > /dev/null 2>&1; }
check "task 0 trains and checkpoints" wait_until 120 first_checkpoint
scancel "${job}_0"
cancelled() { [[ $(task_state "${job}_0") == CA ]]; }
check "scancel stops task 0" wait_until 60 cancelled
check "  before its point finished" test ! -e "$sweep/points/seed=1/summary.json"
check "scontrol requeue puts it back" scontrol requeue "${job}_0"
scontrol update jobid="${job}_0" StartTime=now > /dev/null  # a requeued job waits otherwise
check "every task ends" wait_until 600 no_jobs_left
check "  with three complete run directories" test "$(ls "$sweep"/points/*/summary.json | wc -l)" -eq 3
check "  the requeued task resumed its point from the checkpoint" \
  grep -q "resuming from $sweep/points/seed=1/checkpoints/step-" "$sweep/logs/seed=1.log"
check "  and said so" grep -q "sweep: resuming seed=1" "$sweep"/logs/slurm-"${job}"_0.out
check "report reads the sweep" expect_status 0 "$polyphony" report "$sweep" --no-plots
check "  every point counted" log_has "3 of 3 points finished"

# A tune study: two workers as an array, then the final job.
cat > "$scratch/tune.toml" << TOML
[tune]
base = "$here/../configs/mf-bpr.toml"
trials = 4
objectives = ["NDCG@10"]
final_seeds = 2
[set]
data.dataset = "synthetic:music-small,users=300,items=200,interactions=6000"
train.epochs = 3
train.eval_every = 1
[space]
train.lr = { low = 0.001, high = 0.3, log = true }
TOML
tune=$scratch/tune
check "tune --emit slurm" expect_status 0 "$polyphony" tune "$scratch/tune.toml" --out "$tune" --emit slurm --jobs 2 --slurm-cpus 1
workers=$(sbatch --parsable "$tune/tune.sbatch")
final=$(sbatch --parsable --dependency=afterany:"$workers" "$tune/tune-final.sbatch")
check "sbatch takes the workers ($workers) and the final job ($final)" test -n "$workers" -a -n "$final"
check "every job ends" wait_until 600 no_jobs_left
check "  both workers opened the study" grep -q "tune worker 1: study tune" "$tune/logs/slurm-${workers}_1.out"
check "  Optuna's storage, the records and the runs agree" "$python" "$here/check_tune.py" "$tune" --trials 4
check "  the final job trained the chosen trial over two seeds" \
  test "$(ls "$tune"/final/points/*/summary.json | wc -l)" -eq 2
check "report reads the tune directory" expect_status 0 "$polyphony" report "$tune" --no-plots
check "  with the final runs' test metrics" log_has "| 2/2 | "

echo "slurm_test: $failures failure(s)"
exit $((failures > 0))
