"""Reading a study: completed trials, the Pareto front, progress, and the result files.

Everything here reads the storage only (each trial stores its quantize config and metrics), so
it needs neither torch nor the config: `mase-tui search --show` works on any machine that can
reach the storage, at any time, while workers are still running.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.search.study import SPEC_ATTR

TABLE_METRICS = ("accuracy", "bitops", "average_bitwidth")
_OPERAND_SHORT = (("data_in", "in"), ("weight", "w"), ("bias", "b"), ("data_out", "out"))


@dataclass
class TrialRow:
    number: int
    values: list[float]
    metrics: dict[str, float]
    config: dict[str, Any]

    @property
    def precision(self) -> list[str]:
        return precision_summary(self.config)


def completed_trials(study) -> list[TrialRow]:
    from optuna.trial import TrialState

    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        rows.append(TrialRow(t.number, list(t.values), dict(t.user_attrs.get("metrics") or {}),
                             dict(t.user_attrs.get("config") or {})))
    return rows


def dominates(a: list[float], b: list[float], directions: list[str]) -> bool:
    """a is at least as good as b in every objective and better in one."""
    better = False
    for x, y, d in zip(a, b, directions, strict=True):
        if d == "maximize":
            x, y = -x, -y
        if x > y:
            return False
        if x < y:
            better = True
    return better


def pareto_front(rows: list[TrialRow], directions: list[str]) -> list[TrialRow]:
    """The trials no other completed trial dominates (for one objective: the best ones)."""
    return [r for r in rows if not any(dominates(o.values, r.values, directions) for o in rows if o is not r)]


def precision_summary(config: dict[str, Any]) -> list[str]:
    """One short line per quantised node, each operand spelled by the one precision formatter:
    ``seq_blocks_2 in int[8,4] w int[4,2] b int[8,4]``."""
    from core.ir.view import format_precision
    from core.quant.config import QUANT_ARITH_SUFFIXES, has_operand, precision

    lines = []
    for key, entry in config.items():
        if key in ("by", "default") or not isinstance(entry, dict):
            continue
        node = entry.get("config") or {}
        name = node.get("name")
        if name is None:
            continue
        parts = [key]
        for operand, short in _OPERAND_SHORT:
            if not has_operand(node, operand):
                continue
            values = precision(node, operand) if name in QUANT_ARITH_SUFFIXES else [node[f"{operand}_width"]]
            while values and values[-1] is None:  # optional fields the config leaves out
                values = values[:-1]
            parts.append(f"{short} {format_precision(name, values, short=True)}")
        lines.append(" ".join(parts))
    return lines or ["float"]


# --------------------------------------------------------------------------- progress
@dataclass
class Progress:
    complete: int
    n_trials: int
    running: int
    pruned: int
    failed: int
    best: str
    front_size: int
    elapsed: float

    @property
    def trials_per_second(self) -> float:
        return self.complete / self.elapsed if self.elapsed > 0 else 0.0


def progress(study, n_trials: int, directions: list[str], started: float, names: list[str]) -> Progress:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {s: 0 for s in TrialState}
    for t in trials:
        counts[t.state] += 1
    rows = [TrialRow(t.number, list(t.values), dict(t.user_attrs.get("metrics") or {}), {})
            for t in trials if t.state == TrialState.COMPLETE]
    front = pareto_front(rows, directions) if rows else []
    return Progress(counts[TrialState.COMPLETE], n_trials, counts[TrialState.RUNNING], counts[TrialState.PRUNED],
                    counts[TrialState.FAIL], best_text(front, names), len(front), time.time() - started)


def best_text(front: list[TrialRow], names: list[str]) -> str:
    """Best so far in a few words: the front's best accuracy (or first objective) point."""
    if not front:
        return "-"
    if "accuracy" in front[0].metrics:
        top = max(front, key=lambda r: (r.metrics["accuracy"], -r.metrics.get("bitops", 0)))
        return f"acc {top.metrics['accuracy']:.4f} @ {_count(top.metrics.get('bitops'))} BitOPs (#{top.number})"
    top = front[0]
    return ", ".join(f"{n} {v:.4g}" for n, v in zip(names, top.values, strict=False)) + f" (#{top.number})"


def _count(value: Any) -> str:
    if value is None:
        return "-"
    value = float(value)
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.4g}"


# --------------------------------------------------------------------------- files
def study_spec(study) -> dict[str, Any]:
    return dict(study.user_attrs.get(SPEC_ATTR) or {})


def front_records(front: list[TrialRow], objective_names: list[str]) -> list[dict[str, Any]]:
    return [{"trial": r.number, "precision": r.precision,
             "objectives": dict(zip(objective_names, r.values, strict=True)),
             "metrics": r.metrics, "config": r.config} for r in front]


def front_csv(front: list[TrialRow], objective_names: list[str]) -> str:
    metric_names = sorted({k for r in front for k in r.metrics})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["trial", "precision", *objective_names, *metric_names])
    for r in front:
        writer.writerow([r.number, "; ".join(r.precision), *r.values, *(r.metrics.get(m, "") for m in metric_names)])
    return out.getvalue()


def trial_toml(row: TrialRow, settings: dict[str, Any], study_name: str) -> str:
    """A config `ch transform --config` runs: the study's model settings and the trial's quantize."""
    from core.config import dumps_toml

    keep = ("model", "dataset", "load_name", "load_type", "dataset_path", "seed")
    top = {k: settings[k] for k in keep if settings.get(k) is not None}
    top["project"] = f"{study_name}_trial_{row.number}"
    doc = {**top, "passes": {"quantize": row.config}, "transform": {"style": "graph"}}
    header = (f"# search study '{study_name}', trial {row.number}: "
              + ", ".join(f"{k} = {v:.6g}" for k, v in sorted(row.metrics.items())) + "\n"
              "# run it: ch transform --config <this file>\n")
    return header + dumps_toml(doc)


def write_results(out_dir: str | Path, study, study_name: str) -> dict[str, Any]:
    """pareto.csv, pareto.json, trials.json and pareto/trial_<N>.toml, each written atomically."""
    from core.utils.atomic import atomic_write_text

    out = Path(out_dir)
    spec = study_spec(study)
    directions = [d.name.lower() for d in study.directions]
    names = objective_names(spec, len(directions))
    rows = completed_trials(study)
    front = pareto_front(rows, directions)
    settings = spec.get("settings") or {}
    records = front_records(front, names)
    atomic_write_text(out / "pareto.csv", front_csv(front, names))
    atomic_write_text(out / "pareto.json", json.dumps({"study": study_name, "directions": directions,
                                                       "objectives": names, "front": records}, indent=2) + "\n")
    everything = [{"trial": r.number, "values": r.values, "metrics": r.metrics, "config": r.config} for r in rows]
    atomic_write_text(out / "trials.json", json.dumps(everything, indent=1) + "\n")
    tomls = []
    for r in front:
        path = out / "pareto" / f"trial_{r.number}.toml"
        atomic_write_text(path, trial_toml(r, settings, study_name))
        tomls.append(str(path))
    return {"front": front, "rows": rows, "names": names, "directions": directions, "tomls": tomls,
            "files": [str(out / f) for f in ("pareto.csv", "pareto.json", "trials.json")] + tomls}


def objective_names(spec: dict[str, Any], count: int) -> list[str]:
    if spec.get("sum_scaled_metrics"):
        return ["sum_scaled_metrics"]
    names = [m[0] for m in spec.get("metrics") or []]
    return names if len(names) == count else [f"objective_{i}" for i in range(count)]
