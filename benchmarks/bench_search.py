"""Search throughput on jsc-toy: trials per second with 1 and 2 worker processes on one SQLite
study, and where a trial's time goes (quantise / cost / evaluate / storage and sampling).

The search space, metrics and evaluation are MASE's configs/examples/search_toy_tpe.toml
rewritten for jsc-toy (configs/examples/search_jsc_toy_tpe.toml), the config of MASE's measured
jsc-toy run in /work/shared/reference/mase-search.md section 8.4. MASE cannot run here, so its
figures from that note are the baseline: 0.24 s/trial (10 trials, as shipped), 0.45 s/trial
(100 trials), 0.08 s/trial (100 trials, --cpu 0 and OMP_NUM_THREADS=1). The search phase is
timed as MASE's was: from the first trial's start to the last trial's end (stored in the study).

The precision editor (phase 2): the app runs headless (Textual's run_test) on jsc-toy and
``+``/``-`` alternate on seq_blocks_2; for each press, the time from the key's action to the
new graph's costs (BitOPs, storage, average bits: reset + quantize + cost passes in a worker)
and to the accuracy on the fixed 1024-sample subset. Targets from the issue: 100 ms and 1 s;
the same-run baseline is one bare quantize_transform_pass call on jsc-toy.

    .venv/bin/python benchmarks/bench_search.py [--trials 40] [--presses 10] [--json-only]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from _common import parser, print_json, print_table, setup

from core.config import read_toml
from core.search.config import parse_search
from core.search.runner import SearchOptions, run_search

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "examples" / "search_jsc_toy_tpe.toml"
MASE_SECONDS_PER_TRIAL = {"mase_10_trials": 0.24, "mase_100_trials": 0.45, "mase_100_trials_cpu0_omp1": 0.08}


def search_phase(storage: str, study: str) -> tuple[int, float]:
    import optuna
    from optuna.trial import TrialState

    trials = optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    begun = [t for t in trials if t.datetime_start is not None]
    first = min(t.datetime_start for t in begun)
    last = max(t.datetime_complete for t in trials if t.datetime_complete is not None)
    return len(done), (last - first).total_seconds()


def run(workers: int, trials: int, tmp: Path) -> dict:
    search = parse_search(read_toml(CONFIG), CONFIG)
    settings = {"model": "jsc-toy", "dataset": "jsc", "seed": 42, "pretrained": True}
    options = SearchOptions(out_dir=tmp / f"w{workers}", study=f"bench{workers}", workers=workers, n_trials=trials)
    outcome = run_search(search, settings, options)
    done, seconds = search_phase(outcome.storage, options.study)
    parts = {"quantize": 0.0, "cost": 0.0, "evaluate": 0.0, "sampler": 0.0, "storage": 0.0, "lock_wait": 0.0, "total": 0.0}
    evaluated = pruned = 0
    for report in outcome.reports:
        evaluated += report["evaluated"]
        pruned += report["pruned"]
        for key in parts:
            parts[key] += report["seconds"].get(key, 0.0)
    per_trial = {k: v / max(1, evaluated) for k, v in parts.items()}
    per_trial["other"] = per_trial["total"] - sum(per_trial[k] for k in ("quantize", "cost", "evaluate", "sampler", "storage"))
    return {"workers": workers, "trials": done, "evaluated": evaluated, "pruned_duplicates": pruned,
            "discarded": sum(r.get("discarded", 0) for r in outcome.reports), "search_seconds": seconds, "trials_per_second": done / seconds if seconds else 0.0,
            "seconds_per_trial": seconds / done if done else 0.0, "split_per_trial": per_trial}


def editor_latency(presses: int) -> dict:
    import asyncio
    import statistics
    import time

    from textual.worker import WorkerCancelled

    import mase_tui.app
    from core.passes.transforms.quantize import quantize_transform_pass
    from core.session import Session

    class App(mase_tui.app.MaseTuiApp):
        CSS_PATH = str(Path(mase_tui.app.__file__).with_name("app.tcss"))

    async def settle(app, pilot) -> None:
        for _ in range(400):
            try:
                await app.workers.wait_for_complete()
            except WorkerCancelled:
                pass
            await pilot.pause()
            if all(w.is_finished for w in app.workers):
                break

    async def drive() -> dict:
        app = App(Session("jsc-toy"))
        cost, accuracy = [], []
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(app, pilot)
            app.tree.reveal("seq_blocks_2")
            await pilot.pause()
            app.tree.focus()
            await pilot.press("plus")  # the first press quantises the float node (not timed)
            await settle(app, pilot)
            for i in range(presses):
                await pilot.press("plus" if i % 2 == 0 else "minus")
                await settle(app, pilot)
                cost.append(app.precision_latency["cost"])
                accuracy.append(app.precision_latency["accuracy"])
            args = app._precision_edits.pass_args()
            graph = app.session.original
        bare = []
        for _ in range(presses):
            t0 = time.perf_counter()
            quantize_transform_pass(graph.copy(), args)
            bare.append(time.perf_counter() - t0)
        return {"presses": presses, "keypress_to_cost_ms": 1000 * statistics.median(cost),
                "keypress_to_accuracy_ms": 1000 * statistics.median(accuracy),
                "bare_quantize_ms": 1000 * statistics.median(bare),
                "cost_vs_bare_quantize": statistics.median(cost) / statistics.median(bare)}

    return asyncio.run(drive())


def main() -> int:
    p = parser(__doc__, repeats=1)
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--presses", type=int, default=10)
    args = p.parse_args()
    setup(args)
    tmp = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        results = [run(w, args.trials, tmp) for w in (1, 2)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    editor = editor_latency(args.presses)
    doc = {"benchmark": "search", "model": "jsc-toy", "config": str(CONFIG.relative_to(REPO)),
           "runs": results, "mase_seconds_per_trial": MASE_SECONDS_PER_TRIAL,
           "speedup_vs_mase": {f"{r['workers']}_workers": {k: v / r["seconds_per_trial"]
                                                            for k, v in MASE_SECONDS_PER_TRIAL.items()}
                               for r in results},
           "precision_editor": editor}
    if not args.json_only:
        rows = []
        for r in results:
            s = r["split_per_trial"]
            rows.append([f"{r['workers']} worker(s)", str(r["trials"]), f"{r['search_seconds']:.2f}",
                         f"{r['trials_per_second']:.1f}", f"{1000 * r['seconds_per_trial']:.0f}",
                         f"{1000 * s['quantize']:.1f}", f"{1000 * s['cost']:.1f}", f"{1000 * s['evaluate']:.1f}",
                         f"{1000 * s['sampler']:.1f}", f"{1000 * s['storage']:.1f}",
                         f"{1000 * s['lock_wait']:.1f}", f"{1000 * s['other']:.1f}",
                         f"{MASE_SECONDS_PER_TRIAL['mase_10_trials'] / r['seconds_per_trial']:.1f}x",
                         f"{MASE_SECONDS_PER_TRIAL['mase_100_trials'] / r['seconds_per_trial']:.1f}x"])
        print_table(["run", "trials", "search s", "trials/s", "ms/trial", "quantise", "cost", "evaluate",
                     "sampler", "storage", "of it lock wait", "other", "vs MASE 0.24 s", "vs MASE 0.45 s"], rows,
                    note="per-trial split in ms per evaluated trial (summed over workers: CPU time, not wall); "
                         "MASE figures from reference/mase-search.md 8.4")
        print()
        print_table(["precision editor (median of presses)", "ms", "target ms"], [
            ["keypress -> cost (reset + quantize + cost, worker)", f"{editor['keypress_to_cost_ms']:.1f}", "100"],
            ["keypress -> accuracy (1024 val samples)", f"{editor['keypress_to_accuracy_ms']:.1f}", "1000"],
            ["baseline: one bare quantize_transform_pass", f"{editor['bare_quantize_ms']:.1f}", "-"],
        ])
    print_json(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
