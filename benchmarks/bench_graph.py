"""MaseGraph build + init + common metadata vs bare torch.fx.symbolic_trace + ShapeProp.

Both sides run in the same process on the same model instance and input, alternating, after a
warm-up; the median of several repeats is reported. Target: MaseGraph at most 1.5x the baseline.

    .venv/bin/python benchmarks/bench_graph.py [--repeats 7] [--json-only]
"""

from __future__ import annotations

import statistics
import sys

import torch
import torch.fx as fx
from _common import annotated, dummy_input, parser, print_json, print_table, setup, timed
from torch.fx.passes.shape_prop import ShapeProp

from core.models import get_model

TARGET = 1.5
CASES = (("resnet18", 8), ("tiny-transformer-12", 8))


def run_baseline(model: torch.nn.Module, dummy_in: dict) -> None:
    gm = fx.symbolic_trace(model)
    with torch.no_grad():
        ShapeProp(gm).propagate(*dummy_in.values())


def bench(name: str, batch: int, repeats: int, warmup: int) -> dict:
    torch.manual_seed(0)
    model = get_model(name).eval()
    dummy_in = dummy_input(name, batch)
    for _ in range(warmup):
        run_baseline(model, dummy_in)
        annotated(model, dummy_in)
    base, mase = [], []
    for _ in range(repeats):  # alternate so drift in machine load hits both sides alike
        base.append(timed(run_baseline, model, dummy_in)[0])
        mase.append(timed(annotated, model, dummy_in)[0])
    b, m = statistics.median(base), statistics.median(mase)
    return {"model": name, "batch": batch, "baseline_s": b, "mase_s": m, "ratio": m / b,
            "repeats": repeats, "ok": m / b <= TARGET}


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__, repeats=7, warmup=2).parse_args(argv)
    setup(args)
    rows = [bench(name, batch, args.repeats, args.warmup) for name, batch in CASES]
    if not args.json_only:
        print_table(["model", "batch", "fx+ShapeProp ms", "MaseGraph ms", "ratio", f"target <= {TARGET}"],
                    [[r["model"], str(r["batch"]), f"{r['baseline_s'] * 1e3:.1f}", f"{r['mase_s'] * 1e3:.1f}",
                      f"{r['ratio']:.2f}", "ok" if r["ok"] else "OVER"] for r in rows])
    print_json({"benchmark": "graph_build_metadata", "target": TARGET, "threads": args.threads,
                "ratios": {r["model"]: round(r["ratio"], 3) for r in rows}, "rows": rows})
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
