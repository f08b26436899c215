#!/usr/bin/env python3
"""Checks a sweep report (SWEEP_DIR/report/report.json) against the sweep's own run directories:
every group's mean, standard deviation and 95 % interval of each metric from the points'
metrics.json, and every paired test's pairs, means and t statistic from their metrics.users.tsv.
usage: check_sweep_report.py SWEEP_DIR"""
import csv
import json
import math
import sys
from pathlib import Path

# Student t quantiles t(0.975, df) for the small seed counts a test uses (any table).
T975 = {1: 12.706204736174707, 2: 4.302652729749464, 3: 3.182446305284263, 4: 2.7764451051977934}


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def user_values(path, metric):
    with open(path, newline="") as f:
        return {row["user"]: float(row[metric]) for row in csv.DictReader(f, delimiter="\t")}


def main(sweep_dir):
    sweep_dir = Path(sweep_dir)
    report = json.loads((sweep_dir / "report" / "report.json").read_text())
    problems = []
    for group in report["groups"]:
        for metric, stats in group["metrics"].items():
            values = []
            for point in group["points"]:
                metrics = json.loads((sweep_dir / "points" / point / "metrics.json").read_text())
                if metric in metrics["metrics"]:
                    values.append(metrics["metrics"][metric])
                elif metric.startswith("Exposure@"):
                    k, name = metric[len("Exposure@"):-1].split("[")
                    groups = metrics["item_groups"]
                    values.append(groups["exposure_share"][k][groups["names"].index(name)])
            n = len(values)
            mean = sum(values) / n
            sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
            half = T975[n - 1] * sd / math.sqrt(n) if n > 1 else None
            if stats["n"] != n or not close(stats["mean"], mean) or not close(stats["sd"], sd) \
                    or not close(stats["ci95_half_width"], half):
                problems.append(f"{group['group']} {metric}: report {stats}, runs n={n} "
                                f"mean={mean} sd={sd} half={half}")
    by_group = {g["group"]: g for g in report["groups"]}
    if not report["significance"]:
        problems.append("no significance rows: " + report["significance_note"])
    for row in report["significance"]:
        mine, base = by_group[row["group"]], by_group[row["baseline_group"]]
        a, b = [], []
        for point, seed in zip(mine["points"], mine["seeds"]):
            base_point = base["points"][base["seeds"].index(seed)]
            theirs = user_values(sweep_dir / "points" / base_point / "metrics.users.tsv",
                                 row["metric"])
            for user, value in user_values(sweep_dir / "points" / point / "metrics.users.tsv",
                                           row["metric"]).items():
                if user in theirs:
                    a.append(theirs[user])
                    b.append(value)
        d = [y - x for x, y in zip(a, b)]
        n = len(d)
        mean = sum(d) / n
        sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
        t = mean / (sd / math.sqrt(n)) if sd > 0 else None
        if row["pairs"] != n or not close(row["mean_difference"], mean) or \
                (t is not None and not close(row["t"], t)):
            problems.append(f"{row['group']} {row['metric']}: report pairs={row['pairs']} "
                            f"Δ={row['mean_difference']} t={row['t']}, runs {n} {mean} {t}")
    for p in problems:
        print("mismatch:", p)
    print(f"checked {len(report['groups'])} groups and {len(report['significance'])} tests: "
          f"{len(problems)} mismatch(es)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
