"""Checks a tune directory against Optuna's own reading of its storage and against its runs.

usage: check_tune.py TUNE_DIR [--trials N] [--dashboard]

- Optuna (optuna.load_study on the storage tune.json names) holds N trials (--trials), each in
  the state trial.json records, with the same values (as command-line text) and, for a complete
  trial, the same objective values;
- a complete trial's objective values are the mean over its seeds of each run's validation value
  at the epoch the run kept (summary.json's best_epoch), read here from metrics.jsonl;
- a pruned trial's reported curve is its first seed's validation curve up to where it stopped;
- with --dashboard, optuna-dashboard serves the storage and lists the study with its trials.
Prints one line per failed check and exits 1 if any failed.
"""
import argparse
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request

import optuna

parser = argparse.ArgumentParser()
parser.add_argument("directory")
parser.add_argument("--trials", type=int)
parser.add_argument("--dashboard", action="store_true")
args = parser.parse_args()
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def value_text(value):
    # As polyphony writes a value: an integer without a fraction, a float in its shortest form.
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def storage_of(text):
    if "://" in text:
        return text
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    return JournalStorage(JournalFileBackend(text))


def validation_curve(run):
    curve = {}
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            entry = json.loads(line)
            if "valid" in entry:
                curve[entry["epoch"]] = entry["valid"]
    return curve


tune = json.load(open(os.path.join(args.directory, "tune.json")))
objectives = [o["metric"] for o in tune["objectives"]]
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name=tune["study"], storage=storage_of(tune["storage"]))
trials = study.get_trials()
if args.trials is not None:
    check(len(trials) == args.trials, "Optuna holds %d trials, not %d" % (len(trials), args.trials))
states = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running"}
for trial in trials:
    path = os.path.join(args.directory, "trials", str(trial.number), "trial.json")
    if not os.path.exists(path):
        failures.append("trial %d: no trial.json" % trial.number)
        continue
    record = json.load(open(path))
    name = "trial %d" % trial.number
    check(record["state"] == states[trial.state.name],
          "%s: trial.json says %s, Optuna %s" % (name, record["state"], trial.state.name))
    texts = {key: value_text(value) for key, value in trial.params.items()}
    check(record["values"] == texts, "%s: values %s, Optuna's %s" % (name, record["values"], texts))
    seeds = tune["seeds"]
    if trial.state.name == "COMPLETE":
        check(len(trial.values) == len(objectives) and all(
            close(a, b) for a, b in zip(trial.values, record["objectives"])),
            "%s: objectives %s, Optuna's %s" % (name, record["objectives"], trial.values))
        for i, metric in enumerate(objectives):
            values = []
            for seed in seeds:
                run = os.path.join(args.directory, "trials", str(trial.number), "seed=%d" % seed)
                summary = json.load(open(os.path.join(run, "summary.json")))
                curve = validation_curve(run)
                epoch = summary["best_epoch"] or max(curve)
                values.append(curve[epoch][metric])
            mean = sum(values) / len(values)
            check(close(mean, trial.values[i]),
                  "%s: %s is %r, the runs' mean %r" % (name, metric, trial.values[i], mean))
    if trial.state.name == "PRUNED":
        run = os.path.join(args.directory, "trials", str(trial.number), "seed=%d" % seeds[0])
        curve = validation_curve(run)
        reported = trial.intermediate_values
        check(reported and all(close(v, curve[step][objectives[0]]) for step, v in reported.items()),
              "%s: reported curve %s differs from the run's" % (name, reported))
        check(record["last_epoch"] >= max(reported),
              "%s: pruned at epoch %d, but epoch %d was reported" % (
                  name, record["last_epoch"], max(reported)))

if args.dashboard:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dashboard = os.path.join(os.path.dirname(sys.executable), "optuna-dashboard")
    server = subprocess.Popen([dashboard, tune["storage"], "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        listed = None
        for _ in range(100):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/studies" % port) as r:
                    listed = json.load(r)
                break
            except OSError:
                time.sleep(0.2)
        check(listed is not None, "optuna-dashboard did not answer")
        if listed is not None:
            summary = [s for s in listed["study_summaries"] if s["study_name"] == tune["study"]]
            check(len(summary) == 1, "optuna-dashboard does not list study %s" % tune["study"])
            if summary:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/studies/%d" % (
                        port, summary[0]["study_id"])) as r:
                    detail = json.load(r)
                check(len(detail["trials"]) == len(trials),
                      "optuna-dashboard shows %d trials, not %d" % (
                          len(detail["trials"]), len(trials)))
    finally:
        server.terminate()
        server.wait()

for f in failures:
    print("FAILED:", f)
print("check_tune: %d trials, %d failure(s)" % (len(trials), len(failures)))
sys.exit(1 if failures else 0)
