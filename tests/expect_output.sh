#!/usr/bin/env bash
# A command that must succeed and say something. usage: expect_output.sh PATTERN COMMAND [ARG...]
# Passes when COMMAND exits with status 0, its output (standard output and error together)
# matches PATTERN (grep -E over the whole output: '.' also matches a newline, so a pattern may
# span lines), and no sanitizer reported anything. ctest's PASS_REGULAR_EXPRESSION alone would
# pass a crash, a leak report or a failing exit status after the matched line.
set -uo pipefail
pattern=$1
shift
output=$(mktemp)
trap 'rm -f "$output"' EXIT
"$@" >"$output" 2>&1
status=$?
cat "$output"
failed=0
if [ "$status" -ne 0 ]; then
  echo "expect_output: exit status $status (expected 0)"
  failed=1
fi
# AddressSanitizer, LeakSanitizer and UBSan reports (the sanitized configuration).
if grep -qE 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|: runtime error: ' "$output"; then
  echo "expect_output: a sanitizer reported an error"
  failed=1
fi
if ! grep -qzE -e "$pattern" "$output"; then
  echo "expect_output: the output does not match '$pattern'"
  failed=1
fi
exit "$failed"
