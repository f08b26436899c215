#!/usr/bin/env bash
# A full disk while training or exporting is one error line naming the file, exit status 2, and
# no half-written file under a final name (LibTorch's zip writer used to abort the process).
# Needs a small tmpfs, so root with mount permission; exits 77 (skipped) elsewhere.
# usage: disk_full_test.sh POLYPHONY RUN_DIR SCRATCH_DIR
set -uo pipefail
polyphony=$1 run=$2 scratch=$3
rm -rf "$scratch" && mkdir -p "$scratch/disk"
disk=$scratch/disk
if ! mount -t tmpfs -o size=160k tmpfs "$disk" 2>/dev/null; then
  echo "skipped: cannot mount a tmpfs here (needs root)"
  exit 77
fi
trap 'umount "$disk"' EXIT

# expect_disk_full NAME FILE COMMAND...: exit 2, one line "cannot write FILE: No space left on
# device", no abort, and FILE absent.
expect_disk_full() {
  local name=$1 file=$2
  shift 2
  "$@" > "$scratch/$name.out" 2> "$scratch/$name.err"
  local status=$?
  if [ "$status" != 2 ]; then
    echo "FAIL $name: exit status $status, expected 2"; cat "$scratch/$name.err"; exit 1
  fi
  if grep -q "terminate called\|enforce fail" "$scratch/$name.err"; then
    echo "FAIL $name: LibTorch's error leaked"; cat "$scratch/$name.err"; exit 1
  fi
  if ! grep -q "cannot write .*: No space left on device" "$scratch/$name.err"; then
    echo "FAIL $name: no 'cannot write FILE: No space left on device' line"
    cat "$scratch/$name.err"; exit 1
  fi
  if [ -e "$file" ]; then echo "FAIL $name: $file exists"; exit 1; fi
  echo "ok $name: $(grep 'cannot write' "$scratch/$name.err")"
}

expect_disk_full export "$disk/model.ts.pt" "$polyphony" export "$run" --out "$disk/model.ts.pt"
expect_disk_full train "$disk/run/model.pt" "$polyphony" train --dataset synthetic:music-small \
  --epochs 1 --eval-every 0 --quiet --no-cache --out "$disk/run"
leftover=$(find "$disk" -name '*.tmp*' | head -n 1)
if [ -n "$leftover" ]; then echo "FAIL: temporary file $leftover left behind"; exit 1; fi
echo "ok: a full disk is an error naming the file"
