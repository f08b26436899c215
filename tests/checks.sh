# What the command-line test scripts share (sourced, after setting $scratch): `check` runs a
# check and counts the failures, `expect_status` runs a command into $scratch/last.log and
# compares its exit status, `log_has` looks for a text in that log (or in the file given).
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}
expect_status() {  # expect_status STATUS COMMAND...
  local want=$1
  shift
  "$@" > "$scratch/last.log" 2>&1
  local got=$?
  [[ $got == "$want" ]] || { echo "  exit status $got, expected $want:"; tail -5 "$scratch/last.log"; return 1; }
}
log_has() {  # log_has TEXT [FILE]
  local file=${2:-$scratch/last.log}
  grep -q -- "$1" "$file" || { echo "  no '$1' in $file:"; tail -5 "$file"; return 1; }
}
