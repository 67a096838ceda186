"""Run a MASE config's passes on a Session and write the transform output tree, atomically.

What MASE's ``transform`` action supplies to each pass is supplied here: a train-split input
generator (the Session does it), the graph as it was before a quantize pass plus
``<out>/quantize`` for the quantisation summary (run automatically after every quantize, as
MASE does), and default file paths for the report passes. Then, always: the cost report
before/after (``cost/cost.json``, ``cost/cost.md``) and the transformed graph in
``transformed_ckpt/``. Everything is written into a temporary sibling directory that replaces
``out_dir`` only when the whole run succeeded.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from core.config import PassEntry, dumps_toml
from core.errors import ConfigError, PassError
from core.ir.view import join_precisions
from core.utils.tables import format_count

logger = logging.getLogger(__name__)

QUANTIZE = "quantize_transform_pass"
SUMMARIZE = "summarize_quantization_analysis_pass"
SAVE_GRAPH = "save_mase_graph_interface_pass"
COST = "cost_analysis_pass"


@dataclass
class TransformOutcome:
    out_dir: Path
    files: list[str] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    quant_summary: dict[str, Any] | None = None
    cost_before: dict[str, Any] = field(default_factory=dict)
    cost_after: dict[str, Any] = field(default_factory=dict)
    cost_report: dict[str, Any] = field(default_factory=dict)
    accuracy: dict[str, Any] | None = None


def check_style(style: str, passes: list[PassEntry]) -> None:
    """MASE's module style runs module-level quantisation of by-type configs; for those the graph
    passes give the same modules, so they are run instead. Anything else needs the graph style."""
    if style != "module":
        return
    for entry in passes:
        if entry.name != QUANTIZE or (entry.args.get("by") or "type") != "type":
            raise ConfigError(
                f"[transform] style = \"module\" only runs [passes.quantize] with by = \"type\"; "
                f"[passes.{entry.key}] needs the graph style",
                hint='set style = "graph" (the default), which runs every pass')
    logger.warning("[transform] style = \"module\": running the graph passes, which give the same "
                   "quantised modules for by-type configs")


def run_transform(
    session,
    passes: list[PassEntry],
    out_dir: str | Path,
    *,
    style: str = "graph",
    settings: dict[str, Any] | None = None,
    evaluate: bool = True,
    eval_batches: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> TransformOutcome:
    check_style(style, passes)
    say = progress or (lambda msg: logger.info("%s", msg))
    out_dir = Path(out_dir)
    outcome = TransformOutcome(out_dir=out_dir)
    with _staged(out_dir) as stage, _quiet_session_errors():
        for entry in passes:
            say(f"running {entry.name}")
            _run_entry(session, entry, stage, outcome, say)
        say("counting costs before and after")
        _write_cost(session, stage, outcome)
        say("saving the transformed graph")
        _check(session.run_pass(SAVE_GRAPH, {"save_dir": str(stage / "transformed_ckpt")}),
               "saving transformed_ckpt")
        problem = session.accuracy_problem() if evaluate else None
        if problem:  # a language model or a meta-device model: nothing to measure, say why
            say(f"accuracy skipped: {problem}")
        elif evaluate and session.datamodule is not None:
            say("evaluating accuracy before and after on the test split")
            outcome.accuracy = _accuracy(session, eval_batches)
        _write_summary(stage, outcome, settings, passes, style)
        outcome.files = sorted(str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file())
        stage_str = str(stage)
    _relocate_paths(outcome, stage_str, str(out_dir))
    return outcome


# --------------------------------------------------------------------------- passes
def _run_entry(session, entry: PassEntry, stage: Path, outcome: TransformOutcome, say) -> None:
    from core.passes.registry import get_pass

    args = dict(entry.args)
    # output paths the pass declares default to files under the output directory
    for key, default in get_pass(entry.name).output_args.items():
        args[key] = str(_inside(stage, args.get(key) or default))
    before = session.current
    run = _check(session.run_pass(entry.name, args), f"[passes.{entry.key}]")
    outcome.runs.append({"pass": entry.name, "key": entry.key, "seconds": round(run.seconds, 4)})
    if entry.name == SUMMARIZE:
        outcome.quant_summary = run.info
    if entry.name == QUANTIZE:
        # MASE's CLI summarises every quantize against the graph as it was just before it
        say(f"running {SUMMARIZE}")
        summary = _check(session.run_pass(SUMMARIZE, {"original_graph": before,
                                                      "save_dir": str(stage / "quantize")}),
                         "the quantisation summary")
        outcome.quant_summary = summary.info
        outcome.runs.append({"pass": SUMMARIZE, "key": "(after quantize)", "seconds": round(summary.seconds, 4)})


def _inside(stage: Path, path: str | os.PathLike) -> Path:
    """Relative output paths land in the output directory (so they are written atomically too)."""
    p = Path(path)
    return p if p.is_absolute() else stage / p


def _check(run, label: str):
    if not run.ok:
        raise PassError(f"{label} failed: {run.error}")
    return run


# --------------------------------------------------------------------------- cost
def _write_cost(session, stage: Path, outcome: TransformOutcome) -> None:
    from core.passes.registry import get_pass

    cost = get_pass(COST)
    batch = session.batch_size
    _, outcome.cost_before = cost.fn(session.original, {"batch_size": batch})
    _, outcome.cost_after = cost.fn(session.current, {"batch_size": batch})
    report, markdown = cost_comparison(outcome.cost_before, outcome.cost_after)
    outcome.cost_report = report
    (stage / "cost").mkdir(parents=True, exist_ok=True)
    doc = {"comparison": report, "before": outcome.cost_before, "after": outcome.cost_after}
    (stage / "cost" / "cost.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    (stage / "cost" / "cost.md").write_text(markdown)


_MD_TOTALS = (("macs", "MACs"), ("flops_total", "FLOPs total"), ("bitops", "BitOPs"),
              ("act_bits", "activation bits"))
_MD_MODEL = (("params", "parameters"), ("param_bits", "parameter storage bits"),
             ("param_bytes", "parameter storage bytes"))


def cost_comparison(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """core.cost.compare's before/after comparison, and the same as Markdown."""
    from core.cost.compare import compare_costs

    cmp = compare_costs(before, after, label_a="before", label_b="after")
    lines = ["# Cost before and after the transform", "",
             "Per sample; parameters and storage per model. Ratio = after / before. "
             "BitOPs = MACs x input bits x weight bits (float32 = 32 bits).", "",
             "| metric | before | after | after / before |", "|---|---:|---:|---:|"]
    rows = [(label, cmp["totals_per_sample"][k]) for k, label in _MD_TOTALS]
    rows += [(f"{label} (per model)", cmp["totals_model"][k]) for k, label in _MD_MODEL]
    for label, pair in rows:
        lines.append(f"| {label} | {format_count(pair['a'])} | {format_count(pair['b'])} | {_md_ratio(pair['ratio'])} |")
    changed = [r for r in cmp["nodes"] if r["status"] != "unchanged"]
    if changed:
        lines += ["", "## Changed nodes", "",
                  "| node | op | precision before | precision after | BitOPs before | BitOPs after | storage ratio |",
                  "|---|---|---|---|---:|---:|---:|"]
        for r in changed:
            lines.append(f"| {r['name']} | {r['mase_op']} | {_md_prec(r['precision_a'])} | {_md_prec(r['precision_b'])} "
                         f"| {format_count(r['bitops']['a'])} | {format_count(r['bitops']['b'])} | {_md_ratio(r['storage_ratio'])} |")
    return cmp, "\n".join(lines) + "\n"


def _md_ratio(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def _md_prec(precision: Any) -> str:
    return join_precisions(precision) or "-"


# --------------------------------------------------------------------------- accuracy
def _accuracy(session, eval_batches: int | None) -> dict[str, Any]:
    result: dict[str, Any] = {"split": "test", "data": session.data_label, "synthetic": session.synthetic,
                              "max_batches": eval_batches}
    for which, graph in (("before", "original"), ("after", "current")):
        acc = session.evaluate(graph, split="test", max_batches=eval_batches)
        result[which] = {k: acc[k] for k in ("loss", "accuracy", "samples")}
    return result


# --------------------------------------------------------------------------- outputs
def _write_summary(stage: Path, outcome: TransformOutcome, settings: dict[str, Any] | None,
                   passes: list[PassEntry], style: str) -> None:
    settings = {k: v for k, v in (settings or {}).items() if v is not None}
    config = {**settings, "passes": {e.key: e.args for e in passes}, "transform": {"style": style}}
    (stage / "config.toml").write_text("# effective settings and passes of this run\n" + dumps_toml(config))
    summary = {
        "settings": settings,
        "passes": outcome.runs,
        "cost": outcome.cost_report,
        "accuracy": outcome.accuracy,
        "quantize_histogram": (outcome.quant_summary or {}).get("histogram"),
    }
    (stage / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")


def _relocate_paths(outcome: TransformOutcome, old: str, new: str) -> None:
    """Pass infos name files in the staging directory; point them at the final one."""
    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(old, new)
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    if outcome.quant_summary is not None:
        outcome.quant_summary = fix(outcome.quant_summary)


@contextmanager
def _quiet_session_errors() -> Iterator[None]:
    """A failed pass is raised here as one PassError; the Session's own error log of the same
    failure would print it twice."""
    session_logger = logging.getLogger("core.session")
    level = session_logger.level
    if not session_logger.isEnabledFor(logging.DEBUG):  # with --debug its traceback is wanted
        session_logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        session_logger.setLevel(level)


class _staged:
    """A temporary sibling of ``target`` that replaces it on success. On failure the temporary
    directory and any parent directories created for it are removed, so nothing is left."""

    def __init__(self, target: Path) -> None:
        self.target = target.resolve()
        self.created: list[Path] = []
        self.stage: Path | None = None

    def __enter__(self) -> Path:
        from core.utils.atomic import make_temp_dir

        missing = []
        parent = self.target.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.created = missing  # deepest first
        self.stage = make_temp_dir(self.target)  # 0755 under umask 022, as mkdir would give
        return self.stage

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self.stage is not None
        if exc_type is None:
            try:
                self._commit()
                return False
            except BaseException:
                self._discard()
                raise
        self._discard()
        return False

    def _commit(self) -> None:
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(self.target, old)
            os.replace(self.stage, self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.stage, self.target)

    def _discard(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)
        for directory in self.created:
            try:
                directory.rmdir()
            except OSError:
                break
