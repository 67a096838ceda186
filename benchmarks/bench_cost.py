"""cost_analysis_pass vs torch's FlopCounterMode on the same model and input, in the same run.

The pass reads metadata shapes (no forward); FlopCounterMode runs the model, once on real
tensors and once on the meta device. Both sides alternate after a warm-up and the median of
several repeats is reported, with a check that the core FLOPs agree exactly. Metadata building
(trace + add_common_metadata, done once per session) is timed too, for context.

    .venv/bin/python benchmarks/bench_cost.py [--repeats 7] [--json-only]
"""

from __future__ import annotations

import statistics
import sys

import torch
from _common import annotated, dummy_input, parser, print_json, print_table, setup, timed
from torch.utils.flop_counter import FlopCounterMode

from core.models import get_model
from core.passes.analysis.cost import cost_analysis_pass

CASES = (("resnet18", 8), ("tiny-transformer-12", 8))


def flop_counter(model: torch.nn.Module, dummy_in: dict) -> int:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(*dummy_in.values())
    return counter.get_total_flops()


def bench(name: str, batch: int, repeats: int, warmup: int) -> dict:
    torch.manual_seed(0)
    model = get_model(name).eval()
    dummy_in = dummy_input(name, batch)
    meta_model = get_model(name).eval().to("meta")
    meta_in = {k: v.to("meta") for k, v in dummy_in.items()}
    metadata_s, graph = timed(annotated, model, dummy_in)
    for _ in range(warmup):
        cost_analysis_pass(graph, None)
        flop_counter(model, dummy_in)
        flop_counter(meta_model, meta_in)
    ours, real, meta = [], [], []
    info = fc_real = fc_meta = None
    for _ in range(repeats):  # alternate so drift in machine load hits all sides alike
        t, (_, info) = timed(cost_analysis_pass, graph, None)
        ours.append(t)
        t, fc_real = timed(flop_counter, model, dummy_in)
        real.append(t)
        t, fc_meta = timed(flop_counter, meta_model, meta_in)
        meta.append(t)
    o, r, m = statistics.median(ours), statistics.median(real), statistics.median(meta)
    flops = info["totals_per_batch"]["flops_core"]
    return {
        "model": name, "batch": batch, "repeats": repeats,
        "cost_pass_s": o, "flopcounter_real_s": r, "flopcounter_meta_s": m, "metadata_once_s": metadata_s,
        "speedup_vs_real": r / o, "speedup_vs_meta": m / o,
        "flops_core_per_batch": flops, "flopcounter_flops": fc_real,
        "match": flops == fc_real == fc_meta,
        "bitops_per_sample": info["totals_per_sample"]["bitops"],
        "flops_total_per_sample": info["totals_per_sample"]["flops_total"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__, repeats=7, warmup=1).parse_args(argv)
    setup(args)
    rows = [bench(name, batch, args.repeats, args.warmup) for name, batch in CASES]
    if not args.json_only:
        print_table(
            ["model", "batch", "cost pass ms", "FCM real ms", "FCM meta ms", "x real", "x meta", "metadata ms",
             "FLOPs match"],
            [[r["model"], str(r["batch"]), f"{r['cost_pass_s'] * 1e3:.2f}", f"{r['flopcounter_real_s'] * 1e3:.1f}",
              f"{r['flopcounter_meta_s'] * 1e3:.1f}", f"{r['speedup_vs_real']:.1f}", f"{r['speedup_vs_meta']:.1f}",
              f"{r['metadata_once_s'] * 1e3:.1f}",
              f"{'yes' if r['match'] else 'NO'} ({r['flops_core_per_batch']:,})"] for r in rows],
            note="x real / x meta: FlopCounterMode time / cost pass time (higher = the pass is faster). "
                 "FCM = FlopCounterMode(display=False) under no_grad.")
    print_json({"benchmark": "cost_pass_vs_flopcountermode", "threads": args.threads,
                "speedup_vs_real": {r["model"]: round(r["speedup_vs_real"], 2) for r in rows},
                "speedup_vs_meta": {r["model"]: round(r["speedup_vs_meta"], 2) for r in rows},
                "rows": rows})
    return 0 if all(r["match"] and r["speedup_vs_real"] > 1 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
