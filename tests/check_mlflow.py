#!/usr/bin/env python3
"""Reads a run back from an MLflow tracking server (MLflow's own client) and checks it against the
run directory: the params are config.resolved.json flattened, every metrics.jsonl value is a
metric at its global step, the test metrics sit at the last step, the artifacts are the run
directory's files, the tags name version, model and run directory, and the run has finished.
usage: check_mlflow.py TRACKING_URI RUN [--parent PARENT_RUN_ID]"""
import argparse
import json
import re
import sys
from pathlib import Path

from mlflow.tracking import MlflowClient

from run_values import epoch_scalars, flat_config

LARGEST_ARTIFACT = 16 << 20


def mlflow_name(name):
    """The rule of tools/track/mlflow_log.cpp, written again."""
    out = ""
    for c in name:
        if re.fullmatch(r"[A-Za-z0-9_\-./: ]", c):
            out += c
        elif c == "@":
            out += "_at_"
        elif c != "]":
            out += "_"
    return out


def param_text(value):
    """A param's value as tools/track/mlflow_log.cpp sends it: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("uri")
    parser.add_argument("run", type=Path)
    parser.add_argument("--parent", default="")
    args = parser.parse_args()
    run = args.run
    client = MlflowClient(args.uri)
    run_id = json.loads((run / "mlflow.json").read_text())["run_id"]
    info = client.get_run(run_id)
    problems = []
    if info.info.status != "FINISHED":
        problems.append(f"status {info.info.status}")

    config = {mlflow_name(k): param_text(v)
              for k, v in flat_config(json.loads((run / "config.resolved.json").read_text())).items()}
    if info.data.params != config:
        diff = sorted(set(info.data.params.items()) ^ set(config.items()))[:6]
        problems.append(f"params differ from config.resolved.json: {diff}")

    expected = {}
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    for line in lines:
        for name, value in epoch_scalars(line).items():
            expected.setdefault(mlflow_name(name), {})[line["global_step"]] = float(value)
    last_step = json.loads((run / "summary.json").read_text())["global_steps"]
    for name, value in json.loads((run / "metrics.json").read_text())["metrics"].items():
        expected.setdefault(mlflow_name(f"test/{name}"), {})[last_step] = float(value)
    for key, by_step in expected.items():
        history = client.get_metric_history(run_id, key)
        got = {}
        for m in history:
            # A resumed run logs the epochs after its checkpoint again, with the same values.
            if m.step in got and got[m.step] != m.value:
                problems.append(f"{key} at step {m.step}: two values {got[m.step]} and {m.value}")
            got[m.step] = m.value
        if got != by_step:
            problems.append(f"{key}: {got} in MLflow, {by_step} in the run directory")
    extra = set(info.data.metrics) - set(expected)
    if extra:
        problems.append(f"metrics not in the run directory: {sorted(extra)}")

    artifacts = sorted(a.path for a in client.list_artifacts(run_id))
    files = sorted(p.name for p in run.iterdir() if p.is_file() and p.name not in ("run.lock", "mlflow.json")
                   and (p.stat().st_size <= LARGEST_ARTIFACT or p.name == "model.ts.pt"))
    if artifacts != files:
        problems.append(f"artifacts {artifacts}, run directory {files}")

    tags = info.data.tags
    for key, want in {"polyphony.run_directory": str(run.resolve()),
                      "polyphony.model": json.loads((run / "config.resolved.json").read_text())["model"]["name"]}.items():
        if tags.get(key) != want:
            problems.append(f"tag {key}: {tags.get(key)!r}, expected {want!r}")
    if args.parent and tags.get("mlflow.parentRunId") != args.parent:
        problems.append(f"parent {tags.get('mlflow.parentRunId')!r}, expected {args.parent!r}")

    for p in problems:
        print("FAILED:", p)
    print(f"checked {len(config)} params, {len(expected)} metrics, {len(artifacts)} artifacts of "
          f"{run}: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
