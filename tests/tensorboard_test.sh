#!/usr/bin/env bash
# `train --tensorboard` end to end, read back by TensorBoard's own Python readers
# (check_tensorboard.py): every metrics.jsonl value, the running losses, the test metrics and the
# hparams session; a run killed twice and resumed shows the uninterrupted run's curves with no
# step written twice; a folder that cannot be written costs a warning, not the run.
# usage: tensorboard_test.sh POLYPHONY PYTHON SCRATCH_DIR
set -uo pipefail
polyphony=$1
python=$2
scratch=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$scratch" && mkdir -p "$scratch"
source "$(dirname "$0")/checks.sh"

# 8000 interactions, batch 256: 25 steps an epoch (4 epochs, 100 steps); steps/ every 5.
train=(train --dataset synthetic:music-small,users=400,items=300,interactions=8000 --epochs 4
       --eval-every 1 --batch-size 256 --dim 16 --resn 0.1 --checkpoint-every-steps 10 --quiet
       --tensorboard --tensorboard-steps 5)
check "a run with --tensorboard" expect_status 0 "$polyphony" "${train[@]}" --out "$scratch/whole"
check "  ... read by tensorboard: metrics.jsonl, steps, test metrics, hparams" \
  "$python" "$here/check_tensorboard.py" "$scratch/whole" --steps 5

run=$scratch/killed
check "SIGKILL at step 37" expect_status 137 env POLYPHONY_KILL_AT_STEP=37 "$polyphony" "${train[@]}" --out "$run"
check "SIGKILL at step 64 after resuming" \
  expect_status 137 env POLYPHONY_KILL_AT_STEP=64 "$polyphony" train --resume "$run"
check "resumed to the end" expect_status 0 "$polyphony" train --resume "$run"
check "  ... the uninterrupted run's curves, no step twice, one session" \
  "$python" "$here/check_tensorboard.py" "$run" --steps 5 --same-as "$scratch/whole"

# A finished run trained on: the session ends once more, at the new end.
check "a finished run resumed with more epochs" \
  expect_status 0 "$polyphony" train --resume "$scratch/whole" --epochs 5
check "  ... continues its curves" "$python" "$here/check_tensorboard.py" "$scratch/whole" --steps 5

# TensorBoard must never cost the run: a file where its folder would go, in a folder a run of
# Polyphony was started in (its lock file), which --out accepts.
mkdir -p "$scratch/blocked" && touch "$scratch/blocked/tensorboard" "$scratch/blocked/run.lock"
check "an unwritable TensorBoard folder: the run still finishes" \
  expect_status 0 "$polyphony" "${train[@]}" --out "$scratch/blocked"
check "  ... with one warning" log_has "warning: TensorBoard logging stopped (cannot create"
check "  ... and its results" test -s "$scratch/blocked/metrics.json"
check "--tensorboard-steps without --tensorboard is refused" \
  expect_status 2 "$polyphony" train --tensorboard-steps 5 --out "$scratch/refused"
check "  ... naming both" log_has "--tensorboard-steps 5 needs --tensorboard"

echo "$failures failure(s)"
[[ $failures == 0 ]]
