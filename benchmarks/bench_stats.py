"""profile_statistics per statistic against the bare forwards over the same batches, and the
whole Lab 2 flow on a CIFAR ResNet-18.

Ratios: for each model and statistic, the same pre-generated batches are fed (a) to
``graph.model`` in eval mode under no_grad (the bare forwards) and (b) through
profile_statistics_analysis_pass with that statistic on the inputs of the activation targets
(the weights of the weight targets keep the lab's variance_precise, as in the lab). Forward and
pass runs alternate after a warm-up; the ratio is median(pass) / median(forward) over
``--repeats`` (>= 5) runs. Goal: <= 1.5x. Weight statistics do not depend on the samples
(computed once per pass); a second table gives the ms of each statistic over all the weights
of the weight targets, on its own.

    models               weights of    inputs of                 samples x batch
    resnet18 (CIFAR)     conv2d        relu                      32 x 8 (the lab's), 3x32x32, 10 classes
    jsc-toy              linear        relu                      32 x 8 (the lab's) and --jsc-samples x 8
    tiny-transformer-12  linear        linear                    --tf-samples x 8
    resnet18-224         conv2d        relu                      32 x 8, 3x224x224 (the app's input; only
                                                                 when named in --models)

Rows: each statistic alone with its defaults (``range_quantile`` at the lab's quantile 0.97, in
both modes), "lab" (the lab's config: variance_precise on the weights, range_quantile 0.97 on
the inputs) and "all" (every statistic at once except record). "end ms": from the pass's last
progress report (after the last batch) to its return: the final selections, exports and
metadata writes, the part of the pass no progress bar shows.

Lab 2 flow (ours, end to end, median of the repeats): build the CIFAR ResNet-18, trace, init +
common + software metadata; profile_statistics with variance_precise on conv2d weights and
range_quantile 0.97 on relu inputs over 32 samples in batches of 8; quantize conv2d and linear
to integer 8/4; summarize (CSV files to a temporary directory). MASE's figure for the same flow
is quoted from the issue (see the README), not measured here.

    .venv/bin/python benchmarks/bench_stats.py [--repeats 5] [--threads 1] [--jsc-samples 1024]
                                                [--tf-samples 64] [--models ...] [--json-only]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch
from _common import Replay, annotated, parser, print_json, print_table, setup, timed

from core.ir import MaseGraph
from core.models import get_model, get_model_spec
from core.passes import PASSES

GOAL = 1.5
MASE_LAB_FLOW_S = 5.12  # MASE 1.0.0 on this machine, as measured for issue 11 (see README)
LAB_FLOW_GOAL = 8.0

Q = {"quantile": 0.97}
STATS: dict[str, dict[str, dict]] = {
    "record": {"record": {}},
    "variance_online": {"variance_online": {"dims": "all"}},
    "variance_precise": {"variance_precise": {"dims": "all"}},
    "range_n_sigma": {"range_n_sigma": {"dims": "all"}},
    "range_min_max": {"range_min_max": {"dims": "all"}},
    "range_quantile": {"range_quantile": {"dims": "all", **Q}},
    "range_quantile per_sample_mean": {"range_quantile": {"dims": "all", "mode": "per_sample_mean", **Q}},
    "abs_mean": {"abs_mean": {"dims": "all"}},
    "all (no record)": {"variance_online": {}, "variance_precise": {}, "range_n_sigma": {}, "range_min_max": {},
                        "range_quantile": dict(Q), "abs_mean": {}},
}
LAB = ({"variance_precise": {"device": "cpu", "dims": "all"}},
       {"range_quantile": {"device": "cpu", "dims": "all", "quantile": 0.97}})
INT84 = {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4, "weight_width": 8,
         "weight_frac_width": 4, "bias_width": 8, "bias_frac_width": 4}
LAB_QUANT = {"by": "type", "default": {"config": {"name": None}},
             "conv2d": {"config": dict(INT84)}, "linear": {"config": dict(INT84)}}


@dataclass
class Case:
    label: str
    build: Callable[[], torch.nn.Module]
    inputs: Callable[[torch.Generator, int], dict[str, torch.Tensor]]
    batch: int
    samples: int
    weights: list[str]
    acts: list[str]


def cifar_resnet18() -> torch.nn.Module:
    return get_model("resnet18", num_classes=10)


def cifar_inputs(gen: torch.Generator, batch: int) -> dict[str, torch.Tensor]:
    return {"x": torch.randn(batch, 3, 32, 32, generator=gen)}


def zoo_inputs(name: str) -> Callable[[torch.Generator, int], dict[str, torch.Tensor]]:
    spec = get_model_spec(name)
    return lambda gen, batch: spec.random_inputs(batch, generator=gen)


def imagenet_inputs(gen: torch.Generator, batch: int) -> dict[str, torch.Tensor]:
    return {"x": torch.randn(batch, 3, 224, 224, generator=gen)}


OPT_IN = ("resnet18-224",)  # run only when named in --models (a minute or more)


def cases(opts) -> list[Case]:
    out = [
        Case("resnet18", cifar_resnet18, cifar_inputs, 8, 32, ["conv2d"], ["relu"]),
        Case("resnet18-224", lambda: get_model("resnet18"), imagenet_inputs, 8, 32, ["conv2d"], ["relu"]),
        Case("jsc-toy", lambda: get_model("jsc-toy"), zoo_inputs("jsc-toy"), 8, 32, ["linear"], ["relu"]),
        Case(f"jsc-toy x{opts.jsc_samples}", lambda: get_model("jsc-toy"), zoo_inputs("jsc-toy"), 8,
             opts.jsc_samples, ["linear"], ["relu"]),
        Case("tiny-transformer-12", lambda: get_model("tiny-transformer-12"), zoo_inputs("tiny-transformer-12"), 8,
             opts.tf_samples, ["linear"], ["linear"]),
    ]
    named = opts.models or []
    return [c for c in out if c.label.split(" ")[0] in named or (not named and c.label not in OPT_IN)]


def make_batches(case: Case) -> list[dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    return [case.inputs(gen, case.batch) for _ in range(case.samples // case.batch)]


def forward_all(model: torch.nn.Module, batches: list[dict]) -> float:
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        for b in batches:
            model(**b)
    return time.perf_counter() - start


def profile_args(case: Case, batches: list[dict], w_stats: dict, a_stats: dict) -> dict[str, Any]:
    return {"by": "type", "target_weight_nodes": case.weights, "target_activation_nodes": case.acts,
            "weight_statistics": w_stats, "activation_statistics": a_stats,
            "input_generator": Replay(batches, case.batch), "num_samples": case.batch * len(batches)}


def profile_once(mg: MaseGraph, case: Case, batches: list[dict], w_stats: dict, a_stats: dict) -> tuple[float, float]:
    """(seconds of the pass, seconds from its last progress report, after the last batch, to its
    return: the final selections, exports and metadata writes)."""
    args = profile_args(case, batches, w_stats, a_stats)
    last = [0.0]
    args["progress"] = lambda *values: last.__setitem__(0, time.perf_counter())
    elapsed, (_, info) = timed(PASSES["profile_statistics_analysis_pass"].fn, mg, args)
    end = time.perf_counter()
    assert info["num_samples"] == case.batch * len(batches), info["num_samples"]
    return elapsed, end - last[0]


def ratio(mg: MaseGraph, case: Case, batches: list[dict], w_stats: dict, a_stats: dict, repeats: int) -> dict:
    forward_all(mg.model, batches[:1])  # warm-up
    profile_once(mg, case, batches[:1], w_stats, a_stats)
    fwd, prof, ends = [], [], []
    for _ in range(repeats):
        fwd.append(forward_all(mg.model, batches))
        elapsed, end = profile_once(mg, case, batches, w_stats, a_stats)
        prof.append(elapsed)
        ends.append(end)
    f, p = statistics.median(fwd), statistics.median(prof)
    # best-of ratio too: on a shared machine other processes only ever add time
    return {"forward_ms": f * 1000, "profile_ms": p * 1000, "ratio": p / f, "best_ratio": min(prof) / min(fwd),
            "end_ms": statistics.median(ends) * 1000}


def weights_ms(mg: MaseGraph, case: Case, w_stats: dict, repeats: int) -> float:
    """Median ms of the pass with only weight statistics (no forwards)."""
    args = {"by": "type", "target_weight_nodes": case.weights, "weight_statistics": w_stats}
    PASSES["profile_statistics_analysis_pass"].fn(mg, dict(args))
    times = [timed(PASSES["profile_statistics_analysis_pass"].fn, mg, dict(args))[0] for _ in range(repeats)]
    return statistics.median(times) * 1000


def lab_flow(batches: list[dict], save_dir: str) -> float:
    """The Lab 2 flow on the CIFAR ResNet-18, end to end; returns seconds."""
    start = time.perf_counter()
    torch.manual_seed(0)
    mg = annotated(cifar_resnet18(), batches[0], software=True)
    case = Case("resnet18", cifar_resnet18, cifar_inputs, 8, 32, ["conv2d"], ["relu"])
    mg, _ = PASSES["profile_statistics_analysis_pass"].fn(mg, profile_args(case, batches, *LAB))
    original = mg.copy()
    mg, _ = PASSES["quantize_transform_pass"].fn(mg, LAB_QUANT)
    PASSES["summarize_quantization_analysis_pass"].fn(mg, {"original_graph": original, "save_dir": save_dir})
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__, repeats=5)
    p.add_argument("--jsc-samples", type=int, default=1024)
    p.add_argument("--tf-samples", type=int, default=64)
    p.add_argument("--models", nargs="*", default=None,
                   help="labels to run: resnet18 jsc-toy tiny-transformer-12 (default: these), "
                        "resnet18-224 (the app's 224x224 input, only when named)")
    p.add_argument("--stats", nargs="*", default=None, help="rows to run (default all)")
    p.add_argument("--no-flow", action="store_true", help="skip the Lab 2 flow")
    p.add_argument("--no-weights", action="store_true", help="skip the weight statistics table")
    opts = p.parse_args(argv)
    if opts.repeats < 5:
        p.error("--repeats must be at least 5 (medians of >= 5 runs)")
    setup(opts)

    rows, results = [], {}
    for case in cases(opts):
        batches = make_batches(case)
        torch.manual_seed(0)
        mg = annotated(case.build(), batches[0], software=True)
        named = {"lab": LAB, **{k: (LAB[0], v) for k, v in STATS.items()}}
        for label, (w_stats, a_stats) in named.items():
            if opts.stats and label not in opts.stats:
                continue
            r = ratio(mg, case, batches, w_stats, a_stats, opts.repeats)
            results[f"{case.label} / {label}"] = {k: round(v, 3) for k, v in r.items()}
            rows.append((case.label, label, f"{case.samples} x b{case.batch}", f"{r['forward_ms']:.1f}",
                         f"{r['profile_ms']:.1f}", f"{r['end_ms']:.1f}", f"{r['ratio']:.2f}", f"{r['best_ratio']:.2f}",
                         f"<= {GOAL}", "ok" if r["ratio"] <= GOAL else "OVER"))
    weight_rows, weight_ms = [], {}
    if not opts.no_weights:
        case = cases(opts)[0] if cases(opts) else None
        if case is not None:
            batches = make_batches(case)
            torch.manual_seed(0)
            mg = annotated(case.build(), batches[0], software=True)
            for label, spec in STATS.items():
                if opts.stats and label not in opts.stats:
                    continue
                ms = weights_ms(mg, case, spec, opts.repeats)
                weight_ms[f"{case.label} / {label}"] = round(ms, 2)
                weight_rows.append((case.label, label, f"{ms:.1f}"))
    flow = None
    if not opts.no_flow:
        batches = make_batches(Case("resnet18", cifar_resnet18, cifar_inputs, 8, 32, [], []))
        with tempfile.TemporaryDirectory() as tmp:
            lab_flow(batches, tmp)  # warm-up (imports, first-call caches)
            times = [lab_flow(batches, tmp) for _ in range(opts.repeats)]
        flow = statistics.median(times)

    if not opts.json_only:
        print_table(["model", "statistic", "samples", "forward ms", "pass ms", "end ms", "ratio", "best", "goal", ""],
                    rows, note=f"ratio = median pass / median bare forwards over {opts.repeats} runs (best = fastest "
                               f"/ fastest), {opts.threads} torch thread(s); end = after the last batch (median)")
        if weight_rows:
            print()
            print_table(["weights of", "statistic", "ms (once per pass)"], weight_rows,
                        note=f"all {cases(opts)[0].weights} weights and biases of the model, median of {opts.repeats}")
        if flow is not None:
            print()
            speedup = MASE_LAB_FLOW_S / flow
            print_table(["Lab 2 flow (resnet18 CIFAR)", "seconds", "MASE 1.0.0 (quoted)", "speed-up", "goal"],
                        [("ours", f"{flow:.3f}", f"{MASE_LAB_FLOW_S:.2f}", f"{speedup:.1f}x",
                          f">= {LAB_FLOW_GOAL:.0f}x")])
    doc = {"bench": "stats", "threads": opts.threads, "repeats": opts.repeats, "goal_ratio": GOAL,
           "ratios": results, "weights_ms": weight_ms}
    if flow is not None:
        doc.update({"lab_flow_s": round(flow, 3), "mase_lab_flow_s": MASE_LAB_FLOW_S,
                    "lab_flow_speedup": round(MASE_LAB_FLOW_S / flow, 2), "lab_flow_goal": LAB_FLOW_GOAL})
    print_json(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
