#!/usr/bin/env python3
"""Reads a run's TensorBoard files with TensorBoard's own readers and checks them against the run
directory: every metrics.jsonl value at its global step (and nothing else under those tags), the
running losses every N steps (equal to the epoch's mean at an epoch's last step), the test
metrics of metrics.json, the hparams session (the flattened config.resolved.json, ended with
success) and no (tag, step) written twice in the raw files.
usage: check_tensorboard.py RUN [--steps N] [--same-as OTHER_RUN] [--group GROUP]
--same-as: a run resumed after kills must show the uninterrupted run's curves (timing aside).
--group: the hparams session's group (a sweep point's group)."""
import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from tensorboard.backend.event_processing import event_accumulator, event_file_loader
from tensorboard.compat.proto import event_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata

from run_values import epoch_scalars, flat_config

TIMING = ("train/seconds", "train/step_seconds", "train/interactions_per_second",
          "train/peak_rss_mb", "train/peak_cuda_memory_mb")


def f32(x):
    return float(np.float32(x))


def load(run):
    acc = event_accumulator.EventAccumulator(str(run / "tensorboard"),
                                             size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}


def raw_events(run):
    files = sorted(p for p in (run / "tensorboard").iterdir() if "tfevents" in p.name)
    for path in files:
        yield from event_file_loader.RawEventFileLoader(str(path)).Load()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--same-as", type=Path)
    parser.add_argument("--group", default="")
    args = parser.parse_args()
    run = args.run
    problems = []
    scalars = load(run)
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    expected = {}
    for line in lines:
        for tag, value in epoch_scalars(line).items():
            expected.setdefault(tag, {})[line["global_step"]] = value
    for tag, by_step in expected.items():
        got = scalars.get(tag, {})
        if set(got) != set(by_step):
            problems.append(f"{tag}: steps {sorted(got)} in TensorBoard, {sorted(by_step)} in metrics.jsonl")
        for step, value in by_step.items():
            if step in got and got[step] != f32(value):
                problems.append(f"{tag} at step {step}: {got[step]} != {value}")
    checked = len(expected)

    summary = json.loads((run / "summary.json").read_text())
    last_step = summary["global_steps"]
    test = json.loads((run / "metrics.json").read_text())["metrics"]
    for name, value in test.items():
        # A finished run trained on keeps its earlier test values at their (earlier) step.
        got = scalars.get(f"test/{name}", {})
        if got.get(last_step) != f32(value) or max(got, default=0) != last_step:
            problems.append(f"test/{name}: {got}, expected {value} at step {last_step}")
    checked += len(test)

    step_tags = [t for t in scalars if t.startswith("steps/")]
    if args.steps:
        if not step_tags:
            problems.append("no steps/ scalars")
        for tag in step_tags:
            if any(step % args.steps for step in scalars[tag]):
                problems.append(f"{tag} at steps that are not multiples of {args.steps}")
            want = set(range(args.steps, last_step + 1, args.steps))
            if set(scalars[tag]) != want:
                problems.append(f"{tag}: steps {sorted(scalars[tag])}, expected {sorted(want)}")
            epoch_tag = "losses/" + tag.split("/", 1)[1]
            for step, value in expected.get(epoch_tag, {}).items():
                if step in scalars[tag] and scalars[tag][step] != f32(value):
                    problems.append(f"{tag} at the epoch's last step {step}: {scalars[tag][step]} != {epoch_tag} {value}")
        checked += len(step_tags)
    elif step_tags:
        problems.append(f"steps/ scalars without --tensorboard-steps: {step_tags}")
    extra = set(scalars) - set(expected) - {f"test/{n}" for n in test} - set(step_tags)
    if extra:
        problems.append(f"scalars not in the run directory: {sorted(extra)}")

    seen = Counter()
    starts, ends = [], []
    for record in raw_events(run):
        event = event_pb2.Event.FromString(record)
        for value in event.summary.value:
            seen[(value.tag, event.step)] += 1
            if value.metadata.plugin_data.plugin_name == hparams_metadata.PLUGIN_NAME:
                content = value.metadata.plugin_data.content
                if value.tag == hparams_metadata.SESSION_START_INFO_TAG:
                    starts.append(hparams_metadata.parse_session_start_info_plugin_data(content))
                elif value.tag == hparams_metadata.SESSION_END_INFO_TAG:
                    ends.append(hparams_metadata.parse_session_end_info_plugin_data(content))
    twice = [key for key, count in seen.items() if count > 1]
    if twice:
        problems.append(f"written more than once: {sorted(twice)[:5]}")
    config = flat_config(json.loads((run / "config.resolved.json").read_text()))
    if len(starts) != 1:
        problems.append(f"{len(starts)} hparams session starts")
    else:
        if starts[0].group_name != args.group:
            problems.append(f"hparams group {starts[0].group_name!r}, expected {args.group!r}")
        hparams = starts[0].hparams
        got = {k: (v.string_value if v.HasField("string_value") else
                   v.bool_value if v.HasField("bool_value") else v.number_value)
               for k, v in hparams.items()}
        want = {k: (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
                for k, v in config.items()}
        if got != want:
            diff = sorted(set(got.items()) ^ set(want.items()))[:6]
            problems.append(f"hparams differ from config.resolved.json: {diff}")
    if len(ends) != 1 or ends[0].status != 1:  # STATUS_SUCCESS
        problems.append(f"hparams session ends: {[str(e) for e in ends]}")

    if args.same_as:
        other = load(args.same_as)
        for tag in sorted(set(scalars) | set(other)):
            if tag in TIMING:
                continue
            if scalars.get(tag) != other.get(tag):
                problems.append(f"{tag} differs from {args.same_as}: {scalars.get(tag)} vs {other.get(tag)}")

    for p in problems:
        print("FAILED:", p)
    print(f"checked {checked} tags of {run}: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
