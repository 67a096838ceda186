"""cost_analysis_pass vs torch's FlopCounterMode on the same model and input, in the same run.

The pass reads metadata shapes (no forward); FlopCounterMode runs the model, once on real
tensors and once on the meta device. Both sides alternate after a warm-up and the median of
several repeats is reported, with a check that the core FLOPs agree exactly. Metadata building
(trace + add_common_metadata, done once per session) is timed too, for context.

    .venv/bin/python benchmarks/bench_cost.py [--repeats 7] [--json-only]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from core.ir import MaseGraph  # noqa: E402
from core.models import get_model, get_model_spec  # noqa: E402
from core.passes.analysis.common_metadata import add_common_metadata_analysis_pass  # noqa: E402
from core.passes.analysis.cost import cost_analysis_pass  # noqa: E402
from core.passes.analysis.init_metadata import init_metadata_analysis_pass  # noqa: E402

CASES = (("resnet18", 8), ("tiny-transformer-12", 8))


def dummy_input(name: str, batch: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    out = {}
    for spec in get_model_spec(name).inputs:
        if spec.kind == "tokens":
            out[spec.name] = torch.randint(0, spec.vocab_size, (batch, *spec.shape), generator=gen)
        else:
            out[spec.name] = torch.randn((batch, *spec.shape), generator=gen)
    return out


def annotate(model: torch.nn.Module, dummy_in: dict) -> MaseGraph:
    mg = MaseGraph(model)
    mg, _ = init_metadata_analysis_pass(mg)
    mg, _ = add_common_metadata_analysis_pass(mg, {"dummy_in": dummy_in})
    return mg


def flop_counter(model: torch.nn.Module, dummy_in: dict) -> int:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(*dummy_in.values())
    return counter.get_total_flops()


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def bench(name: str, batch: int, repeats: int, warmup: int) -> dict:
    torch.manual_seed(0)
    model = get_model(name).eval()
    dummy_in = dummy_input(name, batch)
    meta_model = get_model(name).eval().to("meta")
    meta_in = {k: v.to("meta") for k, v in dummy_in.items()}
    metadata_s, graph = timed(annotate, model, dummy_in)
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (1 keeps timings stable on a shared 2-core box)")
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    torch.set_num_threads(args.threads)
    rows = [bench(name, batch, args.repeats, args.warmup) for name, batch in CASES]
    if not args.json_only:
        print(f"{'model':<22}{'batch':>6}{'cost pass ms':>14}{'FCM real ms':>13}{'FCM meta ms':>13}"
              f"{'x real':>8}{'x meta':>8}{'metadata ms':>13}  FLOPs match")
        for r in rows:
            print(f"{r['model']:<22}{r['batch']:>6}{r['cost_pass_s'] * 1e3:>14.2f}{r['flopcounter_real_s'] * 1e3:>13.1f}"
                  f"{r['flopcounter_meta_s'] * 1e3:>13.1f}{r['speedup_vs_real']:>8.1f}{r['speedup_vs_meta']:>8.1f}"
                  f"{r['metadata_once_s'] * 1e3:>13.1f}  {'yes' if r['match'] else 'NO'} ({r['flops_core_per_batch']:,})")
        print("x real / x meta: FlopCounterMode time / cost pass time (higher = the pass is faster). "
              "FCM = FlopCounterMode(display=False) under no_grad.")
    print(json.dumps({"benchmark": "cost_pass_vs_flopcountermode", "threads": args.threads,
                      "speedup_vs_real": {r["model"]: round(r["speedup_vs_real"], 2) for r in rows},
                      "speedup_vs_meta": {r["model"]: round(r["speedup_vs_meta"], 2) for r in rows},
                      "rows": rows}))
    return 0 if all(r["match"] and r["speedup_vs_real"] > 1 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
