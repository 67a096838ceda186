"""Capture + metadata (MaseGraph and add_common_metadata, as a session builds a graph) against
the bare capture each front end wraps, in the same run: ``symbolic_trace`` + ``ShapeProp`` for
fx-traced models, ``torch.export.export(strict=False)`` for exported ones (every Hugging Face
model). Medians after a warm-up (the first export in a process pays a one-off set-up, so a tiny
export runs first). Target: at most 1.5x the bare capture.

Then the Llama-2-7B shape on the meta device, each in a fresh process (wall time and peak RSS
from ``os.wait4``): the bare export of the meta model, ``mase-tui cost llama-7b --json`` and
``mase-tui cost llama-7b --config configs/examples/llama_7b_int8.toml --json``. Goals: under 30 s
and 2 GiB each.

    .venv/bin/python benchmarks/bench_capture.py [--repeats 5] [--skip-7b] [--json-only]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from _common import dummy_input, parser, print_json, print_table, setup, timed
from torch.fx.passes.shape_prop import ShapeProp

from core.ir import MaseGraph
from core.models import get_model
from core.passes import PASSES

TARGET = 1.5
WALL_GOAL_S, RSS_GOAL_MB = 30.0, 2048.0
CASES = (("jsc-toy", 8), ("toy-cnn", 8), ("tiny-transformer-12", 8), ("resnet18", 2),
         ("bert-tiny", 2), ("gpt2-tiny", 2), ("vit-tiny", 2), ("llama-tiny", 2))
ROOT = Path(__file__).resolve().parents[1]


def mase_capture(model, dummy: dict) -> MaseGraph:
    (x,) = dummy.values()
    graph = MaseGraph(model, example_inputs=(x,))
    graph, _ = PASSES["init_metadata_analysis_pass"].fn(graph, None)
    graph, _ = PASSES["add_common_metadata_analysis_pass"].fn(graph, {"dummy_in": {graph.placeholder_names()[0]: x}})
    return graph


def bare_fx(model, dummy: dict):
    (x,) = dummy.values()
    gm = torch.fx.symbolic_trace(model)
    with torch.no_grad():
        ShapeProp(gm).propagate(x)
    return gm


def bare_export(model, dummy: dict):
    (x,) = dummy.values()
    return torch.export.export(model, (x,), strict=False)


def bench(name: str, batch: int, repeats: int, warmup: int) -> dict:
    torch.manual_seed(0)
    model = get_model(name).eval()
    dummy = dummy_input(name, batch)
    tracer = mase_capture(model, dummy).capture["tracer"]
    baseline = bare_fx if tracer == "fx" else bare_export
    for _ in range(warmup):
        baseline(model, dummy)
        mase_capture(model, dummy)
    base, mase = [], []
    for _ in range(repeats):
        base.append(timed(baseline, model, dummy)[0])
        mase.append(timed(mase_capture, model, dummy)[0])
    b, m = statistics.median(base), statistics.median(mase)
    return {"model": name, "tracer": tracer, "baseline": "symbolic_trace+ShapeProp" if tracer == "fx" else "torch.export",
            "baseline_s": b, "mase_s": m, "ratio": m / b, "repeats": repeats, "ok": m / b <= TARGET}


_BARE_7B = """
import torch
from core.models.hf import llama_7b
with torch.device("meta"):
    model = llama_7b()
model.eval()
ids = torch.zeros((1, 128), dtype=torch.long, device="meta")
torch.export.export(model, (ids,), strict=False)
"""


def run_child(argv: list[str]) -> dict:
    """Wall seconds and peak RSS (MiB) of one fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    err = child.stderr.read().decode(errors="replace") if child.stderr else ""
    child.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "ok": child.returncode == 0, "error": "" if child.returncode == 0 else err.strip().splitlines()[-1:]}


def bench_7b() -> list[dict]:
    cli = [sys.executable, "-m", "mase_tui.cli"]
    runs = [
        ("bare torch.export (meta)", [sys.executable, "-c", _BARE_7B]),
        ("mase-tui cost llama-7b --json", [*cli, "cost", "llama-7b", "--json"]),
        ("... --config llama_7b_int8.toml", [*cli, "cost", "llama-7b", "--config",
                                             "configs/examples/llama_7b_int8.toml", "--json"]),
    ]
    rows = []
    for label, argv in runs:
        row = {"case": label, **run_child(argv)}
        row["goal_ok"] = row["ok"] and row["wall_s"] < WALL_GOAL_S and row["peak_rss_mb"] < RSS_GOAL_MB
        rows.append(row)
    bare = rows[0]
    for row in rows[1:]:
        row["wall_ratio"] = row["wall_s"] / bare["wall_s"]
        row["cpu_ratio"] = row["cpu_s"] / bare["cpu_s"]
    return rows


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__, repeats=5, warmup=1)
    p.add_argument("--skip-7b", action="store_true", help="only the zoo ratios")
    args = p.parse_args(argv)
    setup(args)
    mlp = torch.nn.Linear(2, 2)
    torch.export.export(mlp, (torch.randn(1, 2),), strict=False)  # the one-off set-up, out of the way
    rows = [bench(name, batch, args.repeats, args.warmup) for name, batch in CASES]
    big = [] if args.skip_7b else bench_7b()
    if not args.json_only:
        print_table(["model", "tracer", "bare ms", "MaseGraph+metadata ms", "ratio", f"target <= {TARGET}"],
                    [[r["model"], r["tracer"], f"{r['baseline_s'] * 1e3:.0f}", f"{r['mase_s'] * 1e3:.0f}",
                      f"{r['ratio']:.2f}", "ok" if r["ok"] else "OVER"] for r in rows],
                    note="bare = symbolic_trace + ShapeProp (fx) or torch.export.export (export)")
        if big:
            print()
            print_table(["llama-7b on meta (fresh process)", "wall s", "cpu s", "peak RSS MiB", "wall / bare",
                         f"< {WALL_GOAL_S:.0f} s, < 2 GiB"],
                        [[r["case"], f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}", f"{r['peak_rss_mb']:.0f}",
                          f"{r.get('wall_ratio', 1.0):.2f}", "ok" if r["goal_ok"] else f"OVER {r['error']}"]
                         for r in big],
                        note="wall time depends on the machine's load; cpu s is the process's own time")
    print_json({"benchmark": "capture", "target": TARGET, "threads": args.threads,
                "ratios": {r["model"]: round(r["ratio"], 3) for r in rows}, "rows": rows, "llama_7b_meta": big})
    return 0 if all(r["ok"] for r in rows) and all(r["goal_ok"] for r in big) else 1


if __name__ == "__main__":
    raise SystemExit(main())
