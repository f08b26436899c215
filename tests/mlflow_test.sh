#!/usr/bin/env bash
# `train --mlflow` against a real MLflow tracking server, which this test starts itself (the
# project venv's `mlflow server`, SQLite store, artifacts served by the server), read back with
# MLflow's own client (check_mlflow.py): params, every metric, test metrics, artifacts, tags.
# The server stopped in the middle of a run: the run finishes with one warning and the metrics
# kept meanwhile arrive once the server is back. A server that does not answer or is not there
# changes nothing the run computes. A sweep's points are child runs of the sweep's run.
# usage: mlflow_test.sh POLYPHONY PYTHON SCRATCH_DIR
set -uo pipefail
polyphony=$1
python=$2
scratch=$3
here=$(cd "$(dirname "$0")" && pwd)
mlflow=$(dirname "$python")/mlflow
rm -rf "$scratch" && mkdir -p "$scratch"
source "$here/checks.sh"
free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
uri=http://127.0.0.1:$port
server_pid=""
start_server() {  # in its own process group, so that stopping it stops its workers too
  setsid "$mlflow" server --host 127.0.0.1 --port "$port" --workers 1 \
    --backend-store-uri "sqlite:///$scratch/mlflow.db" --artifacts-destination "$scratch/artifacts" \
    >> "$scratch/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    "$python" -c "import urllib.request; urllib.request.urlopen('$uri/health', timeout=1)" 2> /dev/null && return 0
    sleep 0.5
  done
  echo "  the MLflow server did not start:"; tail -20 "$scratch/server.log"; return 1
}
stop_server() { kill -- -"$server_pid" 2> /dev/null; wait "$server_pid" 2> /dev/null; }
trap stop_server EXIT
[[ -x $mlflow ]] || { echo "FAILED: no mlflow next to $python (scripts/setup.sh installs it)"; exit 1; }
check "an MLflow server starts on port $port" start_server || { echo "$failures failure(s)"; exit 1; }

data=synthetic:music-small,users=400,items=300,interactions=8000
train=(train --dataset "$data" --eval-every 1 --dim 16 --quiet --mlflow-experiment polyphony-test)
"$polyphony" "${train[@]}" --epochs 3 --mlflow "$uri" --out "$scratch/up" > "$scratch/up.log" 2>&1
check "a run logged to the server (exit 0)" test $? -eq 0
check "  ... read back: params, metrics, artifacts, tags" \
  "$python" "$here/check_mlflow.py" "$uri" "$scratch/up"

# The server stops after the first epochs and comes back while the run is still going (or
# waiting for it at the end, --mlflow-wait): nothing is lost, the run never stops.
"$polyphony" "${train[@]}" --epochs 40 --mlflow "$uri" --mlflow-timeout 2 --mlflow-wait 120 \
  --out "$scratch/outage" > "$scratch/outage.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 200); do [[ $(wc -l < "$scratch/outage/metrics.jsonl" 2> /dev/null || echo 0) -ge 2 ]] && break; sleep 0.1; done
stop_server
for _ in $(seq 1 300); do grep -q "does not answer" "$scratch/outage.log" && break; sleep 0.1; done
check "the server stopped mid-run: one warning" log_has "warning: MLflow server $uri does not answer" "$scratch/outage.log"
check "  ... while training goes on" test -d /proc/$run_pid
start_server
wait $run_pid
check "  ... the run finishes (exit 0)" test $? -eq 0
check "  ... says the server is back" log_has "MLflow: $uri answers again" "$scratch/outage.log"
check "  ... the one warning" test "$(grep -c "does not answer" "$scratch/outage.log")" -eq 1
check "  ... and every metric kept meanwhile arrived" \
  "$python" "$here/check_mlflow.py" "$uri" "$scratch/outage"

# A server that accepts connections and never answers, and no server at all: same results.
"$python" -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(64)
open('$scratch/silent.port', 'w').write(str(s.getsockname()[1])); time.sleep(120)" &
silent_pid=$!
for _ in $(seq 1 50); do [[ -s $scratch/silent.port ]] && break; sleep 0.1; done
"$polyphony" "${train[@]}" --epochs 3 --mlflow "http://127.0.0.1:$(cat "$scratch/silent.port")" \
  --mlflow-timeout 1 --mlflow-wait 2 --out "$scratch/silent" > "$scratch/silent.log" 2>&1
check "a server that never answers: the run finishes" test $? -eq 0
kill $silent_pid 2> /dev/null
check "  ... with a warning" log_has "does not answer" "$scratch/silent.log"
check "  ... and says what was not sent" log_has "not taken by" "$scratch/silent.log"
"$polyphony" "${train[@]}" --epochs 3 --mlflow "http://127.0.0.1:$(free_port)" --mlflow-wait 1 \
  --out "$scratch/absent" > "$scratch/absent.log" 2>&1
check "no server at all: the run finishes" test $? -eq 0
"$polyphony" "${train[@]}" --epochs 3 --out "$scratch/without" > /dev/null 2>&1
same() { cmp -s "$1/metrics.json" "$2/metrics.json" &&
  [[ "$(grep parameters_xxh64 "$1/summary.json")" == "$(grep parameters_xxh64 "$2/summary.json")" ]]; }
for other in up silent absent; do
  check "results with the server $other = without MLflow" same "$scratch/without" "$scratch/$other"
done

# A sweep: one parent run, its points as child runs.
cat > "$scratch/sweep.toml" <<TOML
[sweep]
base = "$here/../configs/mf-bpr.toml"
seeds = [1, 2]
[set]
data.dataset = "$data"
train.epochs = 2
model.dim = 8
TOML
"$polyphony" sweep "$scratch/sweep.toml" --out "$scratch/sweep" --mlflow "$uri" \
  --mlflow-experiment polyphony-test > "$scratch/sweep.log" 2>&1
check "a sweep logged to MLflow (exit 0)" test $? -eq 0
parent=$("$python" -c "import json; print(json.load(open('$scratch/sweep/mlflow.json'))['run_id'])")
for point in seed=1 seed=2; do
  check "  ... point $point is a child of the sweep's run" \
    "$python" "$here/check_mlflow.py" "$uri" "$scratch/sweep/points/$point" --parent "$parent"
done

check "--mlflow with a file store is refused" \
  bash -c "! '$polyphony' train --mlflow file:///tmp/x --out '$scratch/refused' > '$scratch/refused.log' 2>&1"
check "  ... naming the option" log_has "--mlflow 'file:///tmp/x': expected the http" "$scratch/refused.log"

echo "$failures failure(s)"
[[ $failures == 0 ]]
