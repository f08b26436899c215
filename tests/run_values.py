"""The names tools/track/run_values.cpp gives a run's values, written again for the checkers of
TensorBoard and MLflow files (check_tensorboard.py, check_mlflow.py)."""
import json


def epoch_scalars(line):
    """The scalars of one metrics.jsonl line: objects flatten to KEY/NAME, other numbers are
    train/KEY, "epoch" stays; the global step is the x axis."""
    out = {}
    for key, value in line.items():
        if key == "global_step":
            continue
        if isinstance(value, dict):
            out.update({f"{key}/{n}": v for n, v in value.items()
                        if isinstance(v, (int, float)) and not isinstance(v, bool)})
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key if key == "epoch" else f"train/{key}"] = value
    return out


def flat_config(value, name=""):
    """config.resolved.json's leaves by dotted name; a list as its JSON text, a null left out."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(flat_config(item, f"{name}.{key}" if name else key))
        return out
    if value is None:
        return {}
    if isinstance(value, list):
        return {name: json.dumps(value, separators=(",", ":"), ensure_ascii=False)}
    return {name: value}
