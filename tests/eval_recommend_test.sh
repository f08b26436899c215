#!/usr/bin/env bash
# polyphony eval and recommend on a finished run, as a user meets them.
# usage: eval_recommend_test.sh POLYPHONY RUN_DIR SCRATCH_DIR
set -uo pipefail
polyphony=$1
run=$2
scratch=$3
rm -rf "$scratch" && mkdir -p "$scratch"
failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }

# The evaluation of the saved model reproduces the run's own test metrics exactly.
"$polyphony" eval "$run" --json > "$scratch/eval.json" || fail "eval --json"
ndcg() { grep -m1 '"NDCG@10"' "$1" | tr -d ' ,'; }
[[ -n "$(ndcg "$scratch/eval.json")" && "$(ndcg "$scratch/eval.json")" == "$(ndcg "$run/metrics.json")" ]] ||
  fail "eval NDCG@10 $(ndcg "$scratch/eval.json") differs from the run's $(ndcg "$run/metrics.json")"
"$polyphony" eval "$run/checkpoints/best.ckpt" --split valid -k 20 > "$scratch/eval.txt" &&
  grep -q "valid split, full-ranking" "$scratch/eval.txt" || fail "eval of best.ckpt on valid"

# Sampled evaluation, labelled as such (HR@10 among 100 items is far above full ranking's).
"$polyphony" eval "$run" --eval-protocol sampled:99 --json > "$scratch/sampled.json" ||
  fail "eval --eval-protocol sampled:99"
grep -q '"protocol": "sampled (99 uniform negatives per test item)"' "$scratch/sampled.json" ||
  fail "sampled eval not labelled: $(grep -m1 protocol "$scratch/sampled.json")"

# The finished run under other item groups, without training again: countries from an attribute
# file (every fourth item of each kind, one of them of two countries), the papers' candidate rank.
awk 'BEGIN { print "item\tcountry"; split("US GB JP KR", c, " ") }
     NR == 1 { print $1 "\tUS|JP"; next } { print $1 "\t" c[NR % 4 + 1] }' \
  "$run/items.txt" > "$scratch/countries.tsv"
"$polyphony" eval "$run" --eval-protocol sampled:99 --item-groups attribute:country=US,GB/JP,KR \
  --item-attributes "$scratch/countries.tsv" --json > "$scratch/regrouped.json" ||
  fail "eval --item-groups attribute:country=US,GB/JP,KR"
for key in 'CandidateRank\[JP\]' 'CandidateRank\[over\]' 'CandidateRankGap' '"US+GB"'; do
  grep -q "$key" "$scratch/regrouped.json" || fail "regrouped eval: no $key"
done
"$polyphony" eval "$run" --item-groups popularity:0.2 > "$scratch/popularity.txt" &&
  grep -q "avg-rank gap (tail − head)" "$scratch/popularity.txt" ||
  fail "eval --item-groups popularity:0.2: $(cat "$scratch/popularity.txt")"
"$polyphony" eval "$run" --item-groups attribute:country=US 2> "$scratch/err.txt" &&
  fail "attribute groups without a file accepted"
grep -q "item" "$scratch/err.txt" || fail "no attribute file: $(cat "$scratch/err.txt")"

# Recommendations for users by external id, CSV and JSON.
users=$(head -3 "$run/users.txt" | paste -sd, -)
"$polyphony" recommend "$run" --users "$users" -k 4 > "$scratch/top.csv" || fail "recommend csv"
[[ $(head -1 "$scratch/top.csv") == "user,rank,item,score" && $(wc -l < "$scratch/top.csv") == 13 ]] ||
  fail "recommend csv: expected a header and 12 rows"
first=$(head -1 "$run/users.txt")
grep -q "^$first,1," "$scratch/top.csv" || fail "recommend csv: no rank 1 for $first"
head -2 "$run/users.txt" > "$scratch/users.txt"
"$polyphony" recommend "$run" --users-file "$scratch/users.txt" -k 4 --format json --out "$scratch/top.json" ||
  fail "recommend json"
grep -q '"recommendations"' "$scratch/top.json" || fail "recommend json: no recommendations"
# Same lists either way.
[[ $(grep -c '"artist-\|"item-' "$scratch/top.json") -ge 8 ]] || fail "recommend json: fewer than 8 items"

# Bad input: unknown ids named with where they came from, missing runs.
printf '%s\nnobody\n' "$first" > "$scratch/bad_users.txt"
"$polyphony" recommend "$run" --users-file "$scratch/bad_users.txt" 2> "$scratch/err.txt" &&
  fail "unknown user accepted"
grep -q "unknown user id(s).*'nobody' ($scratch/bad_users.txt:2)" "$scratch/err.txt" ||
  fail "unknown user message: $(cat "$scratch/err.txt")"
"$polyphony" eval "$scratch/missing" 2> "$scratch/err.txt" && fail "missing run accepted"
grep -q "does not exist" "$scratch/err.txt" || fail "missing run message: $(cat "$scratch/err.txt")"

echo "$failures failure(s)"
[[ $failures == 0 ]]
