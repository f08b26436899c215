#!/usr/bin/env bash
# A refusal as a user must see it. usage: expect_refusal.sh PATTERN COMMAND [ARGUMENT...]
# Passes when COMMAND exits with status 2 and writes exactly one line to stderr, matching PATTERN
# (grep -E), and leaves every path among its arguments (KIND:PATH included) as it found it: one
# that did not exist is not created, a file or folder that did keeps its names and bytes (a
# folder's run.lock aside).
set -uo pipefail
pattern=$1
shift

# The state of PATH: "absent", or each file's name and SHA-256 beneath it. A run's run.lock is
# left out: taking the lock (before anything is checked) writes the taker's process id there.
state() {
  if [ ! -e "$1" ]; then
    echo absent
  elif [ -d "$1" ]; then
    (cd "$1" && find . ! -name run.lock -print0 | sort -z | xargs -0 -r sha256sum 2>/dev/null
     find . | sort)
  else
    sha256sum <"$1"
  fi
}

paths=()
for argument in "$@"; do
  for candidate in "$argument" "${argument#*:}"; do
    case $candidate in */*) paths+=("$candidate") ;; esac
  done
done
before=()
for p in "${paths[@]}"; do before+=("$(state "$p")"); done

stderr=$(mktemp)
trap 'rm -f "$stderr"' EXIT
"$@" >/dev/null 2>"$stderr"
status=$?

failed=0
if [ "$status" -ne 2 ]; then
  echo "expected exit status 2, got $status"
  failed=1
fi
lines=$(grep -c '' "$stderr")
if [ "$lines" -ne 1 ]; then
  echo "expected one line on stderr, got $lines:"
  failed=1
fi
if ! grep -qE -e "$pattern" "$stderr"; then
  echo "stderr does not match '$pattern':"
  failed=1
fi
for i in "${!paths[@]}"; do
  if [ "$(state "${paths[$i]}")" != "${before[$i]}" ]; then
    echo "the refused command changed ${paths[$i]}"
    failed=1
  fi
done
cat "$stderr"
[ "$failed" -eq 0 ] && echo "refused as expected"
exit "$failed"
