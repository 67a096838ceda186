"""MaseGraph.copy() (model + structural metadata copy, source only read) vs a bare
``copy.deepcopy`` of the same fx GraphModule (no MASE metadata), in the same run.

Every pass that writes runs on such a copy, so its price is the price of running a pass
safely. Alternating, after a warm-up; medians. Target: at most 1.5x the bare deep copy.

    .venv/bin/python benchmarks/bench_copy.py [--repeats 9] [--json-only]
"""

from __future__ import annotations

import copy
import statistics

import torch
from _common import annotated, dummy_input, parser, print_json, print_table, setup, timed

from core.models import get_model

TARGET = 1.5
CASES = (("resnet18", 8), ("tiny-transformer-12", 8))


def bench(name: str, batch: int, repeats: int, warmup: int) -> dict:
    torch.manual_seed(0)
    graph = annotated(get_model(name).eval(), dummy_input(name, batch))
    bare = copy.deepcopy(graph.model)
    for node in bare.graph.nodes:
        node.meta = {k: v for k, v in node.meta.items() if k != "mase"}
    for _ in range(warmup):
        copy.deepcopy(bare)
        graph.copy()
    base, mase = [], []
    for _ in range(repeats):
        base.append(timed(copy.deepcopy, bare)[0])
        mase.append(timed(graph.copy)[0])
    b, m = statistics.median(base), statistics.median(mase)
    return {"model": name, "nodes": len(graph.model.graph.nodes), "baseline_s": b, "mase_s": m,
            "ratio": m / b, "repeats": repeats, "ok": m / b <= TARGET}


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__, repeats=9, warmup=2).parse_args(argv)
    setup(args)
    rows = [bench(name, batch, args.repeats, args.warmup) for name, batch in CASES]
    if not args.json_only:
        print_table(["model", "nodes", "deepcopy ms", "MaseGraph.copy ms", "ratio", f"target <= {TARGET}"],
                    [[r["model"], str(r["nodes"]), f"{r['baseline_s'] * 1e3:.1f}", f"{r['mase_s'] * 1e3:.1f}",
                      f"{r['ratio']:.2f}", "ok" if r["ok"] else "OVER"] for r in rows])
    print_json({"benchmark": "graph_copy", "target": TARGET, "threads": args.threads,
                "ratios": {r["model"]: round(r["ratio"], 3) for r in rows}, "rows": rows})
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
