"""One worker's trial evaluation: everything slow is done once, each trial only quantises,
counts and runs the preloaded samples.

Once per worker: import torch, build and trace the model, add its metadata (the float graph),
load ``num_samples`` rows of the evaluation split into memory. Per trial: a private copy of the
float graph quantised by ``quantize_transform_pass`` (the same pass `ch transform` runs, so a
saved trial config reproduces the graph), the cost metrics read from its metadata (no forward),
and one forward over the preloaded samples with fresh metrics (MASE keeps its metric state
across trials, so its trial k reports the mean of trials 0..k).

The runners (MASE's names):
- ``basic_evaluation``: ``accuracy`` (fraction correct) and ``loss`` (mean cross-entropy);
- ``average_bitwidth``: ``average_bitwidth`` (mean weight width over every weighted layer,
  float = 32) and ``memory_density`` = compare_to / average_bitwidth;
- ``cost`` (always on, no forward): ``bitops`` and ``flops`` per sample, ``param_bits``.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable

from core.search.config import SearchConfig

logger = logging.getLogger(__name__)

# layers whose weights the average bit width counts (MASE counts quantised nn.Linear only)
WEIGHTED_OPS = ("linear", "conv1d", "conv2d")
# rows per forward: one batch for the usual num_samples, bounded for big inputs
_MAX_EVAL_ROWS = 4096


class TrialEvaluator:
    def __init__(self, settings: dict[str, Any], search: SearchConfig, *, threads: int | None = 1,
                 progress: Callable[[str], None] | None = None) -> None:
        say = progress or (lambda msg: logger.info("%s", msg))
        import torch

        if threads:
            # one intra-op thread per worker: a small model's forward is faster on one thread,
            # and several workers on one machine must not oversubscribe the cores
            torch.set_num_threads(threads)
        from core.search.space import build_space
        from core.session import Session

        self.search = search
        session = Session(
            settings["model"], load=settings.get("load_name"), load_type=settings.get("load_type"),
            dataset=settings.get("dataset"), dataset_path=settings.get("dataset_path"),
            batch_size=settings.get("batch_size") or 8, seed=settings.get("seed") or 0,
            trust_checkpoint=bool(settings.get("trust_checkpoint")), pretrained=settings.get("pretrained", True),
        )
        session.load(progress=say)
        self.session = session
        self.graph = session.original
        self.space = build_space(self.graph, search)
        self.inputs: list[Any] = []
        self.labels: list[Any] = []
        if search.needs_evaluation:
            self._preload(session, search)

    def _preload(self, session, search: SearchConfig) -> None:
        loader = session.datamodule.dataloader(search.split, shuffle=False, batch_size=search.num_samples)
        x, y = next(iter(loader))
        if len(y) < search.num_samples:
            logger.warning("the %s split has %d samples; num_samples = %d uses all of them",
                           search.split, len(y), search.num_samples)
        self.inputs = list(x.split(_MAX_EVAL_ROWS))
        self.labels = list(y.split(_MAX_EVAL_ROWS))
        self.num_samples = len(y)

    # ------------------------------------------------------------------ one trial
    def quantize(self, config: dict[str, Any]):
        from core.passes.transforms.quantize import quantize_transform_pass

        graph, _ = quantize_transform_pass(self.graph.copy(), config)
        return graph

    def evaluate(self, config: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
        """(metrics, seconds spent in quantise / cost / evaluate) for one quantize config."""
        t0 = time.perf_counter()
        graph = self.quantize(config)
        t1 = time.perf_counter()
        metrics = cost_metrics(graph, self.search.compare_to)
        t2 = time.perf_counter()
        if self.search.needs_evaluation:
            metrics.update(self.accuracy(graph))
        t3 = time.perf_counter()
        return metrics, {"quantize": t1 - t0, "cost": t2 - t1, "evaluate": t3 - t2}

    def accuracy(self, graph) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        model = graph.model
        model.train(not self.search.eval_mode)  # eval_mode = false: BatchNorm uses batch statistics
        loss = 0.0
        correct = 0
        with torch.no_grad():
            for x, y in zip(self.inputs, self.labels, strict=True):
                logits = model(x)
                loss += float(F.cross_entropy(logits, y, reduction="sum"))
                correct += int((logits.argmax(dim=1) == y).sum())
        n = self.num_samples
        return {"accuracy": correct / n, "loss": loss / n}


def cost_metrics(graph, compare_to: float = 32.0) -> dict[str, float]:
    """BitOPs and FLOPs per sample, parameter storage bits and the average weight width, all
    from the quantised graph's metadata (the cost pass's own numbers; no forward)."""
    from core.cost.bits import arith_bits, is_tensor_entry, numel
    from core.ir.metadata import get_mase
    from core.passes.analysis.cost import cost_analysis_pass

    _, info = cost_analysis_pass(graph, {})
    per_sample = info["totals_per_sample"]
    weight_bits = weights = 0
    for node in graph.fx_graph.nodes:
        common = get_mase(node).parameters.get("common") or {}
        entry = (common.get("args") or {}).get("weight")
        if common.get("mase_op") in WEIGHTED_OPS and is_tensor_entry(entry):
            n = numel(entry)
            weights += n
            weight_bits += n * arith_bits(entry)[0]
    average = weight_bits / weights if weights else 32.0
    return {
        "bitops": per_sample["bitops"],
        "flops": per_sample["flops_total"],
        "param_bits": info["totals_model"]["param_bits"],
        "average_bitwidth": average,
        "memory_density": compare_to / average if average else math.inf,
    }
