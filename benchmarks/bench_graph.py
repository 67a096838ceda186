"""MaseGraph build + init + common metadata vs bare torch.fx.symbolic_trace + ShapeProp.

Both sides run in the same process on the same model instance and input, alternating, after a
warm-up; the median of several repeats is reported. Target: MaseGraph at most 1.5x the baseline.

    .venv/bin/python benchmarks/bench_graph.py [--repeats 7] [--json-only]
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
import torch.fx as fx  # noqa: E402
from torch.fx.passes.shape_prop import ShapeProp  # noqa: E402

from core.ir import MaseGraph  # noqa: E402
from core.models import get_model, get_model_spec  # noqa: E402
from core.passes.analysis.common_metadata import add_common_metadata_analysis_pass  # noqa: E402
from core.passes.analysis.init_metadata import init_metadata_analysis_pass  # noqa: E402

TARGET = 1.5
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


def run_baseline(model: torch.nn.Module, dummy_in: dict) -> None:
    gm = fx.symbolic_trace(model)
    with torch.no_grad():
        ShapeProp(gm).propagate(*dummy_in.values())


def run_mase(model: torch.nn.Module, dummy_in: dict) -> None:
    mg = MaseGraph(model)
    mg, _ = init_metadata_analysis_pass(mg)
    add_common_metadata_analysis_pass(mg, {"dummy_in": dummy_in})


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def bench(name: str, batch: int, repeats: int, warmup: int) -> dict:
    torch.manual_seed(0)
    model = get_model(name).eval()
    dummy_in = dummy_input(name, batch)
    for _ in range(warmup):
        run_baseline(model, dummy_in)
        run_mase(model, dummy_in)
    base, mase = [], []
    for _ in range(repeats):  # alternate so drift in machine load hits both sides alike
        base.append(timed(run_baseline, model, dummy_in))
        mase.append(timed(run_mase, model, dummy_in))
    b, m = statistics.median(base), statistics.median(mase)
    return {"model": name, "batch": batch, "baseline_s": b, "mase_s": m, "ratio": m / b,
            "repeats": repeats, "ok": m / b <= TARGET}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (1 keeps timings stable on a shared 2-core box)")
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    torch.set_num_threads(args.threads)
    rows = [bench(name, batch, args.repeats, args.warmup) for name, batch in CASES]
    if not args.json_only:
        print(f"{'model':<22}{'batch':>6}{'fx+ShapeProp ms':>18}{'MaseGraph ms':>15}{'ratio':>8}  target <= {TARGET}")
        for r in rows:
            print(f"{r['model']:<22}{r['batch']:>6}{r['baseline_s'] * 1e3:>18.1f}{r['mase_s'] * 1e3:>15.1f}"
                  f"{r['ratio']:>8.2f}  {'ok' if r['ok'] else 'OVER'}")
    print(json.dumps({"benchmark": "graph_build_metadata", "target": TARGET, "threads": args.threads,
                      "ratios": {r["model"]: round(r["ratio"], 3) for r in rows}, "rows": rows}))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
